# The linking e-mails' sending state lives in the outbox now (portal.Delivery, carried over by
# 0009): LinkNotice keeps its removal-link role only; AccountLink no longer records who was told.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_link_emails_to_outbox"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="linknotice",
            name="linknotice_status_created",
        ),
        migrations.RemoveField(
            model_name="accountlink",
            name="removal_notified_at",
        ),
        migrations.RemoveField(
            model_name="linknotice",
            name="attempts",
        ),
        migrations.RemoveField(
            model_name="linknotice",
            name="last_error",
        ),
        migrations.RemoveField(
            model_name="linknotice",
            name="status",
        ),
    ]
