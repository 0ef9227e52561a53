"""Pre-registrations carry the person's language, refuse an unlikely date of birth and a number
that cannot receive texts; addresses administrators typed for new users stop counting as
confirmed (their owners confirm them at their next sign-in)."""

from typing import Any

import phonenumber_field.modelfields
from django.db import migrations, models

import accounts.models.delegation
import accounts.phones


def unconfirm_typed_addresses(apps: Any, schema_editor: Any) -> None:
    """The address each "Add a user" made was stored as confirmed though only an administrator
    had typed it: it could make a profile administrator of a business whose PRIMARY contact has
    that address. Owners confirm it through allauth's link when they next sign in."""
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    AccountLink = apps.get_model("accounts", "AccountLink")
    EmailAddress = apps.get_model("account", "EmailAddress")
    made = AuditEvent.objects.filter(event="user_added").values_list("details", flat=True)
    for details in made.iterator():
        if not details.get("new_profile") or not details.get("user_email"):
            continue
        user_id = (
            AccountLink.objects.filter(pk=details.get("link_id"))
            .values_list("user_id", flat=True)
            .first()
        )
        if user_id is not None:
            EmailAddress.objects.filter(
                user_id=user_id, email__iexact=details["user_email"], verified=True
            ).update(verified=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_investigation_reference"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [
        migrations.AddField(
            model_name="preregistration",
            name="language",
            field=models.CharField(
                choices=[("en", "English"), ("fr", "French")],
                default="en",
                help_text="Language of the e-mails and text message the person receives.",
                max_length=5,
                verbose_name="language",
            ),
        ),
        migrations.AlterField(
            model_name="preregistration",
            name="date_of_birth",
            field=models.DateField(
                validators=[accounts.models.delegation.validate_date_of_birth],
                verbose_name="date of birth",
            ),
        ),
        migrations.AlterField(
            model_name="preregistration",
            name="email",
            field=models.EmailField(
                blank=True,
                help_text=(
                    "When given, the person's identifier: the administrator cannot change it. "
                    "Left empty, the administrator enters it. Either way the person confirms it."
                ),
                max_length=254,
                verbose_name="e-mail",
            ),
        ),
        migrations.AlterField(
            model_name="preregistration",
            name="mobile_phone",
            field=phonenumber_field.modelfields.PhoneNumberField(
                max_length=128,
                region="CA",
                validators=[accounts.phones.validate_mobile_number],
                verbose_name="mobile phone",
            ),
        ),
        migrations.RunPython(unconfirm_typed_addresses, migrations.RunPython.noop),
    ]
