"""Carry every EmailDelivery and SmsDelivery row over into the portal's outbox (portal.Delivery).

Pending rows stay pending and due now, so the outbox's sweeper sends them within a minute;
failed and sent rows come along for staff's one list. Kinds gain the "accounts." namespace and
each row's dedupe key is "accounts.<kind>:<old id>", so running this twice copies nothing twice.
The next migration drops the two old tables.
"""

from django.db import migrations
from django.utils import timezone


def _e164(phone):
    return getattr(phone, "as_e164", None) or str(phone)


def _common(row, now):
    return {
        "language": row.language,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "sent_at": row.sent_at,
        "created_at": row.created_at,
        "next_attempt_at": now,
    }


def to_outbox(apps, schema_editor):
    Delivery = apps.get_model("portal", "Delivery")
    EmailDelivery = apps.get_model("accounts", "EmailDelivery")
    SmsDelivery = apps.get_model("accounts", "SmsDelivery")
    now = timezone.now()
    for row in EmailDelivery.objects.order_by("pk").iterator():
        Delivery.objects.get_or_create(
            dedupe_key=f"accounts.{row.kind}:{row.pk}",
            defaults={
                "channel": "email",
                "kind": f"accounts.{row.kind}",
                "address": row.email,
                "user_id": row.user_id,
                "account_id": row.account_id,
                "facts": row.context,
                **_common(row, now),
            },
        )
    for row in SmsDelivery.objects.order_by("pk").iterator():
        Delivery.objects.get_or_create(
            dedupe_key=f"accounts.{row.kind}:{row.pk}",
            defaults={
                "channel": "sms",
                "kind": f"accounts.{row.kind}",
                "address": _e164(row.phone),
                "user_id": row.user_id,
                "facts": {},
                **_common(row, now),
            },
        )


def from_outbox(apps, schema_editor):
    """Back into the old tables: the rows this migration carried (by their dedupe key)."""
    Delivery = apps.get_model("portal", "Delivery")
    EmailDelivery = apps.get_model("accounts", "EmailDelivery")
    SmsDelivery = apps.get_model("accounts", "SmsDelivery")
    old_status = {"sending": "pending", "unknown": "failed"}
    for row in Delivery.objects.filter(kind__startswith="accounts.").order_by("pk"):
        kind, _, old_pk = row.dedupe_key.removeprefix("accounts.").partition(":")
        if not old_pk.isdigit() or kind != row.kind.removeprefix("accounts."):
            continue  # queued by the outbox itself, after this migration
        common = {
            "pk": int(old_pk),
            "kind": kind,
            "language": row.language,
            "status": old_status.get(row.status, row.status),
            "attempts": row.attempts,
            "last_error": row.last_error,
            "sent_at": row.sent_at,
            "created_at": row.created_at,
        }
        if row.channel == "email":
            EmailDelivery.objects.get_or_create(
                pk=common["pk"],
                defaults={
                    **common,
                    "email": row.address,
                    "user_id": row.user_id,
                    "account_id": row.account_id,
                    "context": row.facts,
                },
            )
        elif row.user_id is not None:
            SmsDelivery.objects.get_or_create(
                pk=common["pk"], defaults={**common, "phone": row.address, "user_id": row.user_id}
            )
        row.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_pre_registration_language"),
        ("portal", "0002_outbox_delivery"),
    ]

    operations = [migrations.RunPython(to_outbox, from_outbox)]
