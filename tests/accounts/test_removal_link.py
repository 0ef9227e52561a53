"""The removal link of a contact: signed, bound to its delivery row, single-use, 30 days."""

import datetime

import pytest
from django.core import signing
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from accounts import removal_links, services
from accounts.exceptions import (
    RemovalLinkExpired,
    RemovalLinkInvalid,
    RemovalLinkUsed,
)
from accounts.models import AccountLink, AuditEvent, BusinessAccount, Investigation
from tests.accounts.link_factories import AccountLinkFactory, LinkNoticeFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def notice():
    user = UserFactory.create(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    link = AccountLinkFactory.create(user=user, account__legal_name="Maple Leaf Outfitters Inc.")
    return LinkNoticeFactory.create(link=link, email="owen@mapleleaf.example", name="Owen Fraser")


def url(notice, name="accounts:removal"):
    return reverse(name, args=[removal_links.make_token(notice)])


def sent_ago(notice, **delta):
    notice.sent_at = timezone.now() - datetime.timedelta(**delta)
    notice.save(update_fields=["sent_at"])


def is_active(link):
    link.refresh_from_db()
    return link.status == AccountLink.Status.ACTIVE


# --- the token ---------------------------------------------------------------------------------


def test_the_token_names_its_delivery_row_and_carries_no_address(notice):
    token = removal_links.make_token(notice)

    assert removal_links.notice_for_token(token) == notice
    assert "owen" not in signing.b64_decode(token.split(":")[0].encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "",
        signing.dumps({"n": 1, "l": 1}, salt="another.salt"),
        signing.dumps({"n": "x", "l": 1}, salt=removal_links.SALT),
        signing.dumps({"wrong": 1}, salt=removal_links.SALT),
    ],
    # Fixed ids: a signed token holds a timestamp, and parallel workers must collect alike.
    ids=["garbage", "empty", "other-salt", "bad-number", "wrong-shape"],
)
def test_a_tampered_or_foreign_token_is_invalid(notice, token):
    with pytest.raises(RemovalLinkInvalid):
        removal_links.notice_for_token(token)


def test_an_edited_token_is_invalid(notice):
    token = removal_links.make_token(notice)
    edited = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    with pytest.raises(RemovalLinkInvalid):
        removal_links.notice_for_token(edited)


def test_a_token_is_bound_to_its_link_and_recipient(notice):
    other = LinkNoticeFactory.create()
    forged = signing.dumps({"n": notice.pk, "l": other.link_id}, salt=removal_links.SALT)

    with pytest.raises(RemovalLinkInvalid):
        removal_links.notice_for_token(forged)


def test_a_token_of_a_notice_never_sent_is_invalid():
    pending = LinkNoticeFactory.create(sent_at=None)

    with pytest.raises(RemovalLinkInvalid):
        removal_links.notice_for_token(removal_links.make_token(pending))


def test_valid_29_days_23_hours_after_sending(notice):
    sent_ago(notice, days=29, hours=23)

    assert removal_links.notice_for_token(removal_links.make_token(notice)) == notice


def test_expired_30_days_and_1_second_after_sending(notice):
    sent_ago(notice, days=30, seconds=1)

    with pytest.raises(RemovalLinkExpired):
        removal_links.notice_for_token(removal_links.make_token(notice))


def test_expiry_counts_from_sending_not_from_the_link(notice):
    """A notice sent late (broker down, maintenance) still gives its 30 days."""
    notice.link.created_at = timezone.now() - datetime.timedelta(days=40)
    notice.link.save()
    sent_ago(notice, days=1)

    assert removal_links.notice_for_token(removal_links.make_token(notice)) == notice


# --- the pages ---------------------------------------------------------------------------------


def test_get_shows_who_and_which_account_and_changes_nothing(client, notice):
    response = client.get(url(notice))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Ada Lovelace (ada@example.org)" in page
    assert "Maple Leaf Outfitters Inc." in page
    assert 'method="post"' in page
    assert "link their profile to the business account again" in page  # accidental removal
    assert is_active(notice.link)
    notice.refresh_from_db()
    assert notice.used_at is None
    assert not AuditEvent.objects.exists()


def test_confirming_removes_the_link_records_it_and_tells_the_user(
    client, notice, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(notice), REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 200
    page = response.content.decode()
    assert "User removed" in page
    assert "Report suspicious activity" in page
    assert "link their profile to the business account again" in page
    link = notice.link
    link.refresh_from_db()
    assert link.status == AccountLink.Status.REMOVED
    assert link.removed_via == AccountLink.RemovedVia.CONTACT_LINK
    assert link.removed_by is None and link.removed_at is not None
    notice.refresh_from_db()
    assert notice.used_at is not None
    event = AuditEvent.objects.get()
    assert (event.event, event.account, event.ip) == (
        AuditEvent.Event.LINK_REMOVED,
        link.account,
        "198.51.100.4",
    )
    assert event.details["contact_email"] == "owen@mapleleaf.example"
    assert [m.to for m in mailoutbox] == [["ada@example.org"]]
    assert "no longer linked" in mailoutbox[0].body


def test_the_link_works_once(client, notice):
    client.post(url(notice))

    again = client.post(url(notice))
    opened = client.get(url(notice))

    assert again.status_code == opened.status_code == 409
    assert "This link was already used" in opened.content.decode()
    assert AuditEvent.objects.filter(event=AuditEvent.Event.LINK_REMOVED).count() == 1


def test_pages_for_a_french_contact_are_wholly_in_french(client, notice):
    notice.language = "fr"
    notice.save(update_fields=["language"])
    notice.link.account.kind = BusinessAccount.Kind.COMMERCIAL
    notice.link.account.save(update_fields=["kind"])

    removed = client.post(url(notice)).content.decode()
    used = client.get(url(notice)).content.decode()

    for page in (removed, used):
        assert "Groupe de gestion du crédit" in page
        assert "credit management group" not in page


def test_a_user_already_removed_another_way_changes_nothing(client, notice):
    services.remove_own_link(user=notice.link.user, account=notice.link.account, ip=None)

    response = client.post(url(notice))

    assert response.status_code == 409
    assert "This user was already removed" in response.content.decode()
    notice.refresh_from_db()
    assert notice.used_at is None
    assert notice.link.removed_via == AccountLink.RemovedVia.SELF
    refused = AuditEvent.objects.get(event=AuditEvent.Event.REMOVAL_LINK_REFUSED)
    assert refused.details["reason"] == "RemovalLinkUsed"


def test_an_expired_link_gives_the_help_desk_number_and_changes_nothing(client, notice, settings):
    sent_ago(notice, days=30, seconds=1)

    for response in (client.get(url(notice)), client.post(url(notice))):
        assert response.status_code == 410
        page = response.content.decode()
        assert "This link has expired" in page
        assert settings.PORTAL_HELP_DESK_PHONE in page
    assert is_active(notice.link)


def test_the_link_is_still_valid_just_before_the_30_days(client, notice):
    sent_ago(notice, days=29, hours=23)

    assert client.post(url(notice)).status_code == 200
    assert not is_active(notice.link)


@pytest.mark.parametrize("token", ["nonsense", "eyJuIjoxLCJsIjoxfQ:forged-signature"])
def test_a_tampered_link_gets_a_plain_invalid_page(client, notice, token):
    response = client.get(reverse("accounts:removal", args=[token]))

    assert response.status_code == 404
    page = response.content.decode()
    assert "This link is not valid" in page
    assert "Maple Leaf" not in page and "Ada" not in page
    assert is_active(notice.link)


def test_a_closed_gate_keeps_the_link_valid_and_says_try_later(client, notice, close_feature):
    close_feature("link_removal")

    shown = client.get(url(notice))
    response = client.post(url(notice))

    assert shown.status_code == 200
    assert "disabled" in shown.content.decode()  # the confirm button, with the reason
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "Please try again later" in response.content.decode()
    assert is_active(notice.link)
    notice.refresh_from_db()
    assert notice.used_at is None


def test_a_database_failure_keeps_the_link_valid_and_says_try_later(client, notice, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("database is gone")

    monkeypatch.setattr(AccountLink, "save", broken)

    response = client.post(url(notice))

    assert response.status_code == 503
    assert "Your link is still valid" in response.content.decode()
    monkeypatch.undo()
    assert is_active(notice.link)
    notice.refresh_from_db()
    assert notice.used_at is None
    assert client.post(url(notice)).status_code == 200  # and it works once the database is back


def test_the_pages_speak_the_contacts_language(client, notice):
    notice.language = "fr"
    notice.save()

    response = client.get(url(notice), HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Language"] == "fr"
    assert '<html lang="fr-CA">' in response.content.decode()


def test_a_language_chosen_on_the_page_wins(client, notice, settings):
    notice.language = "fr"
    notice.save()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(url(notice))

    assert response["Content-Language"] == "en"


def test_the_removal_pages_are_rate_limited_per_address(client, notice, settings):
    settings.PORTAL_REMOVAL_LINK_RATE_LIMIT = 3

    statuses = [client.get(url(notice), REMOTE_ADDR="192.0.2.1").status_code for _ in range(4)]
    other = client.get(url(notice), REMOTE_ADDR="192.0.2.2")

    assert statuses == [200, 200, 200, 429]
    assert other.status_code == 200


# --- reporting suspicious activity through the link ---------------------------------------------


@pytest.mark.parametrize(
    "kind, group, phone",
    [
        (BusinessAccount.Kind.COMMERCIAL, "credit_management", "1 800 267-7651"),
        (BusinessAccount.Kind.SMALL_BUSINESS, "small_business", "1 877 262-5762"),
    ],
)
def test_a_contact_reports_suspicious_activity_after_removing(client, notice, kind, group, phone):
    BusinessAccount.objects.filter(pk=notice.link.account_id).update(kind=kind)
    removed = client.post(url(notice))
    assert phone in removed.content.decode()

    response = client.post(
        url(notice, "accounts:removal_report"),
        {"description": "Orders we never placed."},
        follow=True,  # the POST redirects to the page with the report's reference
    )

    assert response.status_code == 200
    assert phone in response.content.decode()
    investigation = Investigation.objects.get()
    assert (investigation.group, investigation.reporter_email, investigation.reporter_notice) == (
        group,
        "owen@mapleleaf.example",
        notice,
    )
    assert investigation.reporter_user is None
    event = AuditEvent.objects.get(event=AuditEvent.Event.SUSPICIOUS_ACTIVITY_REPORTED)
    assert event.details["investigation_id"] == investigation.pk


def test_an_empty_report_is_refused_with_a_message(client, notice):
    response = client.post(url(notice, "accounts:removal_report"), {"description": ""})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Investigation.objects.exists()


def test_reporting_with_an_expired_link_is_refused(client, notice):
    sent_ago(notice, days=31)

    response = client.post(url(notice, "accounts:removal_report"), {"description": "x"})

    assert response.status_code == 410
    assert not Investigation.objects.exists()


# --- the service, directly ----------------------------------------------------------------------


def test_the_service_refuses_and_audits_each_bad_link(notice):
    sent_ago(notice, days=31)

    with pytest.raises(RemovalLinkExpired):
        services.remove_link_with_token(token=removal_links.make_token(notice), ip="192.0.2.9")
    with pytest.raises(RemovalLinkInvalid):
        services.remove_link_with_token(token="bad", ip="192.0.2.9")

    reasons = sorted(
        e.details["reason"]
        for e in AuditEvent.objects.filter(event=AuditEvent.Event.REMOVAL_LINK_REFUSED)
    )
    assert reasons == ["RemovalLinkExpired", "RemovalLinkInvalid"]


def test_the_service_refuses_a_used_link(notice):
    token = removal_links.make_token(notice)
    services.remove_link_with_token(token=token, ip=None)

    with pytest.raises(RemovalLinkUsed):
        services.remove_link_with_token(token=token, ip=None)
