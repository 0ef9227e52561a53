"""The removal token from the link to the contact's click, under a stopped clock: a notice held
back by maintenance still gives its full validity from sending, the e-mail writes the very
moment the link expires, and self-linking gives the account's default right.

Written where mutation testing (`make mutate`) found this behaviour unpinned.
"""

import datetime
import re

import pytest
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import notifications, removal_links, services
from accounts.exceptions import RemovalLinkExpired, RemovalLinkInvalid, RemovalLinkUsed
from accounts.models import AccountLink, AuditEvent, Grant, LinkNotice
from accounts.rights import Right
from outages import gate
from outages.features import Feature
from outages.models import Interruption, MaintenanceWindow
from portal import tasks
from portal.formatting import EASTERN
from portal.models import Delivery
from portal.outbox import kinds as outbox_kinds
from portal.outbox import registered_kinds
from tests.accounts.link_factories import AccountLinkFactory, LinkNoticeFactory
from tests.factories import UserFactory
from tests.row_locks import row_locks

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2031, 3, 10, 9, 30, tzinfo=EASTERN)
DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)
IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def notice() -> LinkNotice:
    user = UserFactory.create(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    link = AccountLinkFactory.create(user=user, account__legal_name="Maple Leaf Outfitters Inc.")
    return LinkNoticeFactory.create(link=link, email="owen@mapleleaf.example", name="Owen Fraser")


def token(notice: LinkNotice) -> str:
    return removal_links.make_token(notice)


def send(delivery: Delivery | int) -> bool:
    """What a worker does with the task the outbox enqueues."""
    delivery_id = delivery if isinstance(delivery, int) else delivery.pk
    return tasks.send_delivery.apply(args=(delivery_id,)).get()


def queued(notice: LinkNotice) -> Delivery:
    """`notice` not yet sent, with its e-mail queued in the outbox."""
    LinkNotice.objects.filter(pk=notice.pk).update(sent_at=None)
    return notifications.queue_link_notice(notice)


def by_recipient(outbox) -> dict:
    return {message.to[0]: message for message in outbox}


def close(feature: Feature, *, until: datetime.datetime) -> None:
    """Staff save a window that closes `feature` from now on; the gate hears of it."""
    window = MaintenanceWindow.objects.create(
        title_en="Maintenance", title_fr="Entretien", starts_at=NOW, ends_at=until
    )
    Interruption.objects.create(
        window=window,
        application_en="Accounts",
        application_fr="Comptes",
        starts_at=NOW,
        ends_at=until,
        features=[feature],
    )


# --- expiry counts from sending ------------------------------------------------------------------


def test_a_notice_held_back_by_maintenance_gives_its_30_days_from_sending(
    linkable, user, frozen, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as sends:
        link = services.link_account(user=user, ip=IP, **linkable.proofs)
    with django_capture_on_commit_callbacks(execute=True):
        close(Feature.ACCOUNT_LINKING, until=NOW + 2 * DAY)
    for enqueue in sends:  # the tasks reach the worker while linking is closed
        enqueue()
    assert mailoutbox == []
    assert set(Delivery.objects.values_list("held_for", flat=True)) == {"account_linking"}

    sent_at = NOW + 2 * DAY + 3600 * SECOND
    frozen.move_to(sent_at, tick=False)
    assert tasks.sweep_outbox.apply().get()["enqueued"] == 2

    owen = link.notices.get(email="owen@mapleleaf.example")
    assert owen.sent_at == sent_at
    assert removal_links.expires_at(owen) == sent_at + 30 * DAY
    english = by_recipient(mailoutbox)["owen@mapleleaf.example"]
    assert "on March 10, 9:30 a.m. (ET)." in english.body  # when the link was made
    assert "valid for 30 days, until April 11, 10:30 a.m. (ET)." in english.body
    assert "April 11, 10:30 a.m. (ET)" in english.alternatives[0][0]
    french = by_recipient(mailoutbox)["claire@mapleleaf.example"]
    assert "11 avril, 10 h 30 (HE)" in french.body

    frozen.move_to(sent_at + 30 * DAY, tick=False)  # the last moment it works
    assert removal_links.notice_for_token(token(owen)) == owen
    frozen.move_to(sent_at + 30 * DAY + SECOND, tick=False)
    with pytest.raises(RemovalLinkExpired):
        removal_links.notice_for_token(token(owen))


def test_the_email_and_the_link_follow_the_validity_setting(notice, frozen, mailoutbox, settings):
    settings.PORTAL_REMOVAL_LINK_VALID_DAYS = 7

    assert send(queued(notice)) is True

    (message,) = mailoutbox
    assert "valid for 7 days, until March 17, 9:30 a.m. (ET)." in message.body
    notice.refresh_from_db()
    assert removal_links.expires_at(notice) == NOW + 7 * DAY
    frozen.move_to(NOW + 7 * DAY, tick=False)
    assert removal_links.notice_for_token(token(notice)) == notice
    frozen.move_to(NOW + 7 * DAY + SECOND, tick=False)
    with pytest.raises(RemovalLinkExpired):
        removal_links.notice_for_token(token(notice))


def test_a_notice_never_sent_has_no_expiry_and_no_usable_link():
    pending = LinkNoticeFactory.create(sent_at=None)

    assert removal_links.expires_at(pending) is None
    with pytest.raises(RemovalLinkInvalid):
        removal_links.notice_for_token(token(pending))


# --- the token and the address it is written in --------------------------------------------------


def test_the_address_in_the_email_is_absolute_without_a_double_slash(notice, settings):
    settings.PORTAL_BASE_URL = "https://portal.example/"

    url = removal_links.removal_url(notice)

    assert url == "https://portal.example" + reverse("accounts:removal", args=[token(notice)])
    assert signing.loads(url.split("/")[-2], salt=removal_links.SALT) == {
        "n": notice.pk,
        "l": notice.link_id,
    }


def test_a_token_naming_the_notice_but_another_link_is_invalid(notice):
    other = AccountLinkFactory.create()
    swapped = signing.dumps({"n": notice.pk, "l": other.pk}, salt=removal_links.SALT)
    unknown = signing.dumps({"n": notice.pk + 1000, "l": notice.link_id}, salt=removal_links.SALT)

    for forged in (swapped, unknown):
        with pytest.raises(RemovalLinkInvalid):
            removal_links.notice_for_token(forged)


def test_a_used_token_or_a_removed_user_is_used_up_except_for_reporting(notice):
    spent = LinkNoticeFactory.create(used_at=NOW)
    removed = LinkNoticeFactory.create(
        link__status=AccountLink.Status.REMOVED,
        link__removed_at=NOW,
        link__removed_via=AccountLink.RemovedVia.SELF,
    )

    for used_up in (spent, removed):
        with pytest.raises(RemovalLinkUsed) as raised:
            removal_links.notice_for_token(token(used_up))
        assert raised.value.notice == used_up
        assert removal_links.notice_for_token(token(used_up), spent_ok=True) == used_up
    assert removal_links.notice_for_token(token(notice), for_update=True) == notice


def test_reporting_with_a_spent_token_still_ends_with_its_validity(notice, frozen):
    LinkNotice.objects.filter(pk=notice.pk).update(used_at=NOW)
    frozen.move_to(NOW + 30 * DAY + SECOND, tick=False)

    with pytest.raises(RemovalLinkExpired) as raised:
        removal_links.notice_for_token(token(notice), spent_ok=True)
    assert raised.value.notice == notice


# --- what is locked (on PostgreSQL) --------------------------------------------------------------


def test_the_token_brings_the_user_and_account_its_pages_name_in_one_query(
    notice, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = removal_links.notice_for_token(token(notice))
        assert (found.link.user.email, found.link.account.legal_name) == (
            "ada@example.org",
            "Maple Leaf Outfitters Inc.",
        )


def test_the_token_read_for_removal_locks_the_notice_and_its_link_only(notice):
    with row_locks() as locked:
        removal_links.notice_for_token(token(notice), for_update=True)
    with row_locks() as read:
        removal_links.notice_for_token(token(notice))

    # Not the user and account rows joined in: other removals lock the account first.
    assert locked == ['FOR UPDATE OF "accounts_linknotice", "accounts_accountlink"']
    assert read == []


def test_removing_with_the_token_holds_the_notice_and_its_link(notice):
    with row_locks() as locks:
        services.remove_link_with_token(token=token(notice), ip=IP)

    assert 'FOR UPDATE OF "accounts_linknotice", "accounts_accountlink"' in locks


def test_sending_locks_no_notice_or_link(notice, mailoutbox):
    """The outbox claims its own row; removals, which lock the account then the link, never
    wait for a send (nor a send for them)."""
    removed = AccountLinkFactory.create(
        status=AccountLink.Status.REMOVED,
        removed_at=NOW,
        removed_via=AccountLink.RemovedVia.STAFF,
    )
    notice_delivery, removed_delivery = queued(notice), notifications.queue_link_removed(removed)

    with row_locks() as locks:
        assert send(notice_delivery) is True
        assert send(removed_delivery) is True

    assert locks == []
    assert len(mailoutbox) == 2


def test_sending_reads_the_notice_with_its_link_user_and_account_at_once(notice, mailoutbox):
    removed = AccountLinkFactory.create(
        status=AccountLink.Status.REMOVED,
        removed_at=NOW,
        removed_via=AccountLink.RemovedVia.STAFF,
    )
    notice_delivery, removed_delivery = queued(notice), notifications.queue_link_removed(removed)

    with CaptureQueriesContext(connection) as queries:
        assert send(notice_delivery) is True
        assert send(removed_delivery) is True

    # The e-mails name the user and the account: joined to the first read, not a query each.
    separate = [
        q["sql"]
        for q in queries.captured_queries
        if re.match(r'SELECT .* FROM "accounts_(user|businessaccount)"', q["sql"])
    ]
    assert separate == []


@pytest.fixture
def only_what_register_adds(monkeypatch):
    """The outbox's registry as `accounts.notifications.register()` alone fills it."""
    monkeypatch.setattr(outbox_kinds, "_KINDS", {})
    notifications.register()


def test_registering_makes_each_link_email_wait_for_its_own_capability(
    only_what_register_adds, notice, frozen, mailoutbox, django_capture_on_commit_callbacks
):
    removed = AccountLinkFactory.create(
        account__legal_name="Boreal Supply Co.",
        status=AccountLink.Status.REMOVED,
        removed_at=NOW,
        removed_via=AccountLink.RemovedVia.STAFF,
    )
    with django_capture_on_commit_callbacks(execute=True):
        close(Feature.ACCOUNT_LINKING, until=NOW + DAY)
        close(Feature.LINK_REMOVAL, until=NOW + 2 * DAY)
    told_contact, told_user = queued(notice), notifications.queue_link_removed(removed)

    send(told_contact)
    send(told_user)
    told_contact.refresh_from_db()
    told_user.refresh_from_db()
    assert (told_contact.held_for, told_user.held_for) == ("account_linking", "link_removal")
    assert [k.name for k in registered_kinds()] == [
        "accounts.link_notice",
        "accounts.link_removed",
    ]

    frozen.move_to(NOW + 2 * DAY + SECOND, tick=False)
    tasks.sweep_outbox.apply().get()
    assert sorted(m.subject for m in mailoutbox) == [
        "A user was linked to the business account Maple Leaf Outfitters Inc.",
        "Your access to the business account Boreal Supply Co. was removed",
    ]
    assert all(m.alternatives[0][1] == "text/html" for m in mailoutbox)


# --- using the token -----------------------------------------------------------------------------


def test_removing_with_the_token_spends_it_and_audits_who_asked(
    notice, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        returned = services.remove_link_with_token(token=token(notice), ip=IP)

    assert returned == notice
    notice.refresh_from_db()
    assert notice.used_at == NOW
    link = notice.link
    assert (link.status, link.removed_via, link.removed_at) == (
        AccountLink.Status.REMOVED,
        AccountLink.RemovedVia.CONTACT_LINK,
        NOW,
    )
    event = AuditEvent.objects.get()
    assert (event.actor, event.account, event.event, event.ip) == (
        None,
        link.account,
        AuditEvent.Event.LINK_REMOVED,
        IP,
    )
    assert (
        event.details.items()
        >= {
            "link_id": link.pk,
            "user_email": "ada@example.org",
            "via": AccountLink.RemovedVia.CONTACT_LINK,
            "contact_email": "owen@mapleleaf.example",
        }.items()
    )
    assert [m.to for m in mailoutbox] == [["ada@example.org"]]


def test_removing_with_the_token_waits_for_the_link_removal_capability(
    notice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        close(Feature.LINK_REMOVAL, until=NOW + DAY)

    with pytest.raises(gate.FeatureClosed):
        services.remove_link_with_token(token=token(notice), ip=IP)

    notice.refresh_from_db()
    assert notice.used_at is None
    assert notice.link.status == AccountLink.Status.ACTIVE
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("spoil", ["used", "expired"])
def test_a_refused_token_is_audited_with_its_notice_and_account(notice, frozen, spoil):
    if spoil == "used":
        LinkNotice.objects.filter(pk=notice.pk).update(used_at=NOW)
    else:
        frozen.move_to(NOW + 31 * DAY, tick=False)
    reason = {"used": "RemovalLinkUsed", "expired": "RemovalLinkExpired"}[spoil]

    with pytest.raises((RemovalLinkUsed, RemovalLinkExpired)):
        services.remove_link_with_token(token=token(notice), ip=IP)

    event = AuditEvent.objects.get()
    assert (event.actor, event.account, event.event, event.ip) == (
        None,
        notice.link.account,
        AuditEvent.Event.REMOVAL_LINK_REFUSED,
        IP,
    )
    assert event.details == {"reason": reason, "notice_id": notice.pk}
    assert AccountLink.objects.get(pk=notice.link_id).status == AccountLink.Status.ACTIVE


def test_a_forged_token_is_audited_without_naming_anyone(notice):
    with pytest.raises(RemovalLinkInvalid):
        services.remove_link_with_token(token="forged", ip=IP)

    event = AuditEvent.objects.get()
    assert (event.account, event.event, event.ip) == (
        None,
        AuditEvent.Event.REMOVAL_LINK_REFUSED,
        IP,
    )
    assert event.details == {"reason": "RemovalLinkInvalid", "notice_id": None}


# --- sending the notice, and the failures kept ---------------------------------------------------


def test_sending_marks_the_notice_sent_now_and_counts_the_attempt(notice, mailoutbox):
    delivery = queued(notice)

    assert send(delivery) is True
    assert send(delivery) is False  # already sent
    assert send(delivery.pk + 1000) is False  # no such delivery

    notice.refresh_from_db()
    delivery.refresh_from_db()
    assert notice.sent_at == NOW
    assert (delivery.status, delivery.sent_at, delivery.attempts) == (Delivery.Status.SENT, NOW, 1)
    (message,) = mailoutbox
    assert message.to == ["owen@mapleleaf.example"]
    assert message.subject == "A user was linked to the business account Maple Leaf Outfitters Inc."
    assert message.extra_headers == {"Auto-Submitted": "auto-generated"}
    assert "Hello Owen Fraser," in message.body
    assert removal_links.removal_url(notice) in message.body


def test_a_failed_notice_is_never_sent(notice, mailoutbox):
    failed = queued(notice)
    Delivery.objects.filter(pk=failed.pk).update(status=Delivery.Status.FAILED)

    assert send(failed) is False
    assert mailoutbox == []


def test_a_failure_is_kept_with_its_type_and_the_last_one_fails_the_notice(
    notice, frozen, monkeypatch, settings
):
    settings.PORTAL_OUTBOX_MAX_ATTEMPTS = 2
    pending = queued(notice)
    errors = [ValueError("x" * 400), OSError("refused")]

    def failing(message, *args, **kwargs):
        raise errors.pop(0)

    monkeypatch.setattr(EmailMultiAlternatives, "send", failing)

    assert send(pending) is False
    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == (Delivery.Status.PENDING, 1)
    assert pending.last_error == ("ValueError: " + "x" * 400)[:300]

    frozen.move_to(pending.next_attempt_at, tick=False)
    assert send(pending) is False
    pending.refresh_from_db()
    assert (pending.status, pending.attempts, pending.last_error) == (
        Delivery.Status.FAILED,
        2,
        "OSError: refused",
    )

    assert send(pending) is False  # no longer pending
    pending.refresh_from_db()
    assert (pending.attempts, pending.last_error) == (2, "OSError: refused")


# --- telling the removed user --------------------------------------------------------------------


@pytest.mark.parametrize(
    "via, says",
    [
        (AccountLink.RemovedVia.CONTACT_LINK, "A contact of the business account removed"),
        (AccountLink.RemovedVia.STAFF, "Support staff removed your access."),
    ],
)
def test_the_removed_user_is_told_how_once_with_an_absolute_link(mailoutbox, settings, via, says):
    settings.PORTAL_BASE_URL = "https://portal.example/"
    user = UserFactory.create(first_name="", last_name="", email="nameless@example.org")
    link = AccountLinkFactory.create(
        user=user,
        account__legal_name="Maple Leaf Outfitters Inc.",
        account__customer_number="0001234567",
        status=AccountLink.Status.REMOVED,
        removed_at=NOW,
        removed_via=via,
    )
    AccountLinkFactory.create(  # another user removed from another business
        account__legal_name="Boreal Supply Co.",
        status=AccountLink.Status.REMOVED,
        removed_at=NOW,
        removed_via=AccountLink.RemovedVia.STAFF,
    )

    delivery = notifications.queue_link_removed(link)

    assert send(delivery) is True
    assert send(delivery) is False

    delivery.refresh_from_db()
    assert (delivery.status, delivery.sent_at) == (Delivery.Status.SENT, NOW)
    assert (delivery.user, delivery.account_id) == (user, link.account_id)  # the admin's filters
    (message,) = mailoutbox
    assert message.to == ["nameless@example.org"]
    assert message.extra_headers == {"Auto-Submitted": "auto-generated"}
    assert message.subject == (
        "Your access to the business account Maple Leaf Outfitters Inc. was removed"
    )
    assert "Hello nameless@example.org," in message.body
    assert "Maple Leaf Outfitters Inc. (customer number 0001234567)" in message.body
    assert "since March 10, 9:30 a.m. (ET)." in message.body
    assert settings.PORTAL_HELP_DESK_PHONE in message.body
    assert says in message.body
    assert "https://portal.example" + reverse("accounts:link") in message.body


def test_an_active_link_is_not_told_it_was_removed(mailoutbox):
    link = AccountLinkFactory.create()
    delivery = notifications.queue_link_removed(link)

    assert send(delivery) is False
    assert mailoutbox == []
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error == "Undeliverable: The link does not exist or is not removed."


# --- the right self-linking gives ----------------------------------------------------------------


def test_self_linking_gives_the_accounts_default_right(linkable, user):
    linkable.account.default_right = Right.MANAGE
    linkable.account.save(update_fields=["default_right"])

    link = services.link_account(user=user, ip=IP, **linkable.proofs)

    grant = Grant.objects.get(link=link)
    assert (grant.contract, grant.level) == (None, Right.MANAGE)
    assert (link.is_administrator, link.method, link.created_by) == (
        False,
        AccountLink.Method.SELF,
        user,
    )
    details = AuditEvent.objects.get(event=AuditEvent.Event.LINKED).details
    assert (details["link_id"], details["administrator"], details["level"]) == (
        link.pk,
        False,
        Right.MANAGE,
    )
    assert sorted(details["notified"]) == ["claire@mapleleaf.example", "owen@mapleleaf.example"]


def test_the_primary_contact_gets_every_right_whatever_the_default(linkable):
    user = UserFactory.create(email=linkable.primary.email)

    link = services.link_account(user=user, ip=IP, **linkable.proofs)

    assert Grant.objects.get(link=link).level == Right.VALIDATE
    assert link.is_administrator is True
    assert AuditEvent.objects.get(event=AuditEvent.Event.LINKED).details["level"] == Right.VALIDATE


def test_each_notice_carries_its_contacts_name_and_language(linkable, user):
    link = services.link_account(user=user, ip=IP, **linkable.proofs)

    notices = {(n.email, n.name, n.language, n.sent_at) for n in link.notices.all()}
    assert notices == {
        ("claire@mapleleaf.example", "Claire Tremblay", "fr", None),
        ("owen@mapleleaf.example", "Owen Fraser", "en", None),
    }
    e_mails = {(d.address, d.language, d.status) for d in Delivery.objects.all()}
    assert e_mails == {
        ("claire@mapleleaf.example", "fr", Delivery.Status.PENDING),
        ("owen@mapleleaf.example", "en", Delivery.Status.PENDING),
    }
