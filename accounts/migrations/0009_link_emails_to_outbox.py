"""Carry the linking e-mails over into the portal's outbox (portal.Delivery); lose none.

- Every LinkNotice becomes an "accounts.link_notice" delivery (dedupe key
  "accounts.link_notice:<notice id>"): a pending one stays pending and due now, so the outbox's
  sweeper sends it within a minute; sent and failed ones come along for staff's one list.
  The LinkNotice row keeps its removal-link role (sent_at, used_at).
- Every link removed by a contact's link or by staff becomes an "accounts.link_removed" delivery
  (dedupe key "accounts.link_removed:<link id>"): SENT when the user was told
  (`removal_notified_at`), else PENDING. Links an administrator removed were told by their own
  e-mail, and users who removed themselves are not told.
- Postponed tasks of the old send tasks go: their messages are the pending deliveries now (the
  outbox holds them itself while their capability is closed).
Running it twice copies nothing twice (get_or_create on the dedupe key). The next migration
drops the old sending fields.
"""

from django.db import migrations
from django.utils import timezone

NOTICE = "accounts.link_notice"
REMOVED = "accounts.link_removed"
OLD_TASKS = ["accounts.tasks.send_link_notice", "accounts.tasks.send_link_removed_email"]


def to_outbox(apps, schema_editor):
    Delivery = apps.get_model("portal", "Delivery")
    LinkNotice = apps.get_model("accounts", "LinkNotice")
    AccountLink = apps.get_model("accounts", "AccountLink")
    PostponedTask = apps.get_model("outages", "PostponedTask")
    now = timezone.now()
    for notice in LinkNotice.objects.select_related("link").order_by("pk").iterator():
        Delivery.objects.get_or_create(
            dedupe_key=f"{NOTICE}:{notice.pk}",
            defaults={
                "channel": "email",
                "kind": NOTICE,
                "address": notice.email,
                "language": notice.language,
                "account_id": notice.link.account_id,
                "facts": {"notice_id": notice.pk},
                "status": notice.status,
                "attempts": notice.attempts,
                "last_error": notice.last_error,
                "sent_at": notice.sent_at,
                "created_at": notice.created_at,
                "next_attempt_at": now,
            },
        )
    removed = AccountLink.objects.filter(
        status="removed", removed_via__in=["contact_link", "staff"]
    ).select_related("user")
    for link in removed.order_by("pk").iterator():
        told = link.removal_notified_at
        Delivery.objects.get_or_create(
            dedupe_key=f"{REMOVED}:{link.pk}",
            defaults={
                "channel": "email",
                "kind": REMOVED,
                "address": link.user.email,
                "user_id": link.user_id,
                "language": link.user.language,
                "account_id": link.account_id,
                "facts": {"link_id": link.pk},
                "status": "sent" if told else "pending",
                "sent_at": told,
                "created_at": link.removed_at or now,
                "next_attempt_at": now,
            },
        )
    PostponedTask.objects.filter(task_name__in=OLD_TASKS).delete()


def from_outbox(apps, schema_editor):
    """Back onto the old fields: the state of each carried (or since queued) delivery."""
    Delivery = apps.get_model("portal", "Delivery")
    LinkNotice = apps.get_model("accounts", "LinkNotice")
    AccountLink = apps.get_model("accounts", "AccountLink")
    old_status = {"sending": "pending", "unknown": "failed"}
    for row in Delivery.objects.filter(kind=NOTICE).order_by("pk"):
        LinkNotice.objects.filter(pk=row.facts.get("notice_id")).update(
            status=old_status.get(row.status, row.status),
            attempts=min(row.attempts, 32767),
            last_error=row.last_error,
        )
        row.delete()
    for row in Delivery.objects.filter(kind=REMOVED).order_by("pk"):
        if row.status == "sent":
            AccountLink.objects.filter(pk=row.facts.get("link_id")).update(
                removal_notified_at=row.sent_at
            )
        row.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_delete_email_sms_deliveries"),
        ("portal", "0002_outbox_delivery"),
        ("outages", "0003_notice_attempts"),
    ]

    operations = [migrations.RunPython(to_outbox, from_outbox)]
