"""Investigations get a random reference to give the reporter instead of the row id, and the
audit log two link events: a second factor asked on a customer number under attack, and the
alert staff see when that number reaches its failure limit.

The reference is added in three steps (nullable, filled row by row, then unique), so that
existing investigations each receive their own."""

from typing import Any

from django.db import migrations, models

import accounts.models.records


def give_references(apps: Any, schema_editor: Any) -> None:
    Investigation = apps.get_model("accounts", "Investigation")
    taken: set[str] = set()
    for investigation in Investigation.objects.filter(reference__isnull=True).order_by("pk"):
        reference = accounts.models.records.new_investigation_reference()
        while reference in taken:
            reference = accounts.models.records.new_investigation_reference()
        taken.add(reference)
        investigation.reference = reference
        investigation.save(update_fields=["reference"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_default_right_at_most_manage"),
    ]

    operations = [
        migrations.AddField(
            model_name="investigation",
            name="reference",
            field=models.CharField(
                editable=False, max_length=13, null=True, verbose_name="reference"
            ),
        ),
        migrations.RunPython(give_references, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="investigation",
            name="reference",
            field=models.CharField(
                default=accounts.models.records.new_investigation_reference,
                editable=False,
                max_length=13,
                unique=True,
                verbose_name="reference",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="event",
            field=models.CharField(
                choices=[
                    ("linked", "Account linked"),
                    ("link_refused", "Link attempt refused"),
                    ("link_locked_out", "Link attempt during a lock-out"),
                    (
                        "link_step_up_required",
                        "Link attempt asked for a second factor (customer number under attack)",
                    ),
                    ("link_guessing_alert", "Many failed link attempts on one customer number"),
                    ("link_removed", "Link removed"),
                    ("removal_link_refused", "Removal link refused"),
                    ("suspicious_activity_reported", "Suspicious activity reported"),
                    ("investigation_updated", "Investigation updated"),
                    ("administrator_marked", "Made account administrator"),
                    ("administrator_unmarked", "No longer account administrator"),
                    ("default_right_changed", "Rights of self-linked users changed"),
                    ("user_added", "User added"),
                    ("rights_changed", "Rights changed"),
                    ("user_removed", "User removed"),
                    ("pre_registration_saved", "Pre-registration saved"),
                    ("validation_requested", "Validation requested"),
                    ("validation_approved", "Request approved"),
                    ("validation_rejected", "Request rejected"),
                    ("validation_stale", "Request refused: its target changed"),
                ],
                max_length=40,
                verbose_name="event",
            ),
        ),
    ]
