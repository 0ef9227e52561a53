"""Charges say what they pay for, so an invoice can sum a thousand labels into one line."""

from django.db import migrations, models

# Returns charges a label with the source "label:<tracking number>" (returns/services/charges.py).
LABEL_SOURCE_PREFIX = "label:"


def mark_label_charges(apps, schema_editor):
    Charge = apps.get_model("billing", "Charge")
    Charge.objects.filter(source_reference__startswith=LABEL_SOURCE_PREFIX).update(
        kind="RETURN_LABEL"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="charge",
            name="kind",
            field=models.CharField(
                choices=[("RETURN_LABEL", "Return labels"), ("SERVICE", "Other services")],
                db_default="SERVICE",
                default="SERVICE",
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.RunPython(mark_label_charges, migrations.RunPython.noop),
    ]
