"""Give every MaintenanceNotice its outbox delivery (portal.Delivery); lose none.

A notice stays the record of "who was told which revision"; its sending state moves to the
delivery ("outages.notice" or "outages.change", dedupe key
"outages.notice:<window>:<user>:<revision>"). A pending notice, and a failed one the old job
would still have retried (fewer than 5 attempts), becomes a PENDING delivery due now, which the
outbox's sweeper sends within a minute; sent and spent ones come along as SENT and FAILED.
The next migration drops the notice's own sending fields.
"""

from django.db import migrations
from django.utils import timezone

OLD_MAX_ATTEMPTS = 5


def _told_before(MaintenanceNotice, notice):
    """The latest revision sent to the person before this one: what a change notice compares."""
    revisions = MaintenanceNotice.objects.filter(
        window_id=notice.window_id,
        user_id=notice.user_id,
        status="sent",
        revision__lt=notice.revision,
    ).values_list("revision", flat=True)
    return max(revisions, default=0)


def _status(notice):
    if notice.status == "failed" and notice.attempts < OLD_MAX_ATTEMPTS:
        return "pending"
    return notice.status


def to_outbox(apps, schema_editor):
    Delivery = apps.get_model("portal", "Delivery")
    MaintenanceNotice = apps.get_model("outages", "MaintenanceNotice")
    now = timezone.now()
    notices = MaintenanceNotice.objects.filter(delivery__isnull=True).select_related("user")
    for notice in notices.order_by("pk").iterator():
        told = _told_before(MaintenanceNotice, notice) if notice.kind == "change" else 0
        delivery, _ = Delivery.objects.get_or_create(
            dedupe_key=f"outages.notice:{notice.window_id}:{notice.user_id}:{notice.revision}",
            defaults={
                "channel": "email",
                "kind": f"outages.{notice.kind}",
                "address": notice.user.email,
                "user_id": notice.user_id,
                "language": getattr(notice.user, "language", "") or "en",
                "facts": {
                    "window_id": notice.window_id,
                    "revision": notice.revision,
                    "told_revision": told,
                },
                "status": _status(notice),
                "attempts": notice.attempts,
                "last_error": notice.error,
                "sent_at": notice.sent_at,
                "created_at": notice.created_at,
                "next_attempt_at": now,
            },
        )
        notice.delivery = delivery
        notice.save(update_fields=["delivery"])


def from_outbox(apps, schema_editor):
    """Back onto the notice's own fields, then the deliveries go."""
    Delivery = apps.get_model("portal", "Delivery")
    MaintenanceNotice = apps.get_model("outages", "MaintenanceNotice")
    old_status = {"sending": "pending", "unknown": "failed"}
    for notice in MaintenanceNotice.objects.exclude(delivery=None).select_related("delivery"):
        delivery = notice.delivery
        notice.status = old_status.get(delivery.status, delivery.status)
        notice.error, notice.sent_at = delivery.last_error, delivery.sent_at
        notice.attempts = min(delivery.attempts, 32767)
        notice.delivery = None
        notice.save(update_fields=["status", "error", "sent_at", "attempts", "delivery"])
        Delivery.objects.filter(pk=delivery.pk).delete()


class Migration(migrations.Migration):
    dependencies = [("outages", "0004_notice_delivery")]

    operations = [migrations.RunPython(to_outbox, from_outbox)]
