"""Self-linked users receive at most MANAGE: accounts whose default was VALIDATE are lowered to
MANAGE (each lowering audited) before the database starts refusing anything higher."""

from typing import Any

from django.db import migrations, models

MANAGE = 20


def lower_validate_defaults(apps: Any, schema_editor: Any) -> None:
    BusinessAccount = apps.get_model("accounts", "BusinessAccount")
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    for account in BusinessAccount.objects.filter(default_right__gt=MANAGE).order_by("pk"):
        AuditEvent.objects.create(
            event="default_right_changed",
            account=account,
            customer_number=account.customer_number,
            details={"before": account.default_right, "after": MANAGE, "why": "migration"},
        )
        account.default_right = MANAGE
        account.save(update_fields=["default_right"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_delegated_users"),
    ]

    operations = [
        migrations.RunPython(lower_validate_defaults, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="businessaccount",
            name="default_right",
            field=models.PositiveSmallIntegerField(
                choices=[(10, "Consult"), (20, "Manage")],
                default=10,
                verbose_name="rights of self-linked users",
            ),
        ),
        migrations.AddConstraint(
            model_name="businessaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("default_right__lte", 20)),
                name="default_right_at_most_manage",
            ),
        ),
    ]
