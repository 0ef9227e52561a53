"""Review of the suspicious-activity reports (issue 9, item 14): a report is filed by a POST that
redirects, so a refresh files nothing more, and the reporter alone sees its random reference."""

import re

import pytest
from django.urls import reverse

from accounts import removal_links
from accounts.models import AuditEvent, Investigation
from tests.accounts.link_factories import AccountLinkFactory, LinkNoticeFactory

pytestmark = pytest.mark.django_db
REFERENCE = re.compile(r"INV-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")
REPORT = {"description": "Twelve orders we never placed."}


@pytest.fixture
def link(user):
    return AccountLinkFactory.create(user=user)


@pytest.fixture
def notice():
    link = AccountLinkFactory.create(account__legal_name="Maple Leaf Outfitters Inc.")
    return LinkNoticeFactory.create(link=link, email="owen@mapleleaf.example", name="Owen Fraser")


def report_url(link):
    return reverse("accounts:report", args=[link.account_id])


def contact_url(notice, name="accounts:removal_report"):
    return reverse(name, args=[removal_links.make_token(notice)])


# --- a linked user ------------------------------------------------------------------------------


def test_a_report_redirects_and_a_refresh_files_nothing_more(client, user, link):
    client.force_login(user)

    posted = client.post(report_url(link), REPORT)
    done = client.get(posted["Location"])
    refreshed = client.get(posted["Location"])

    assert posted.status_code == 302
    assert posted["Location"] == reverse("accounts:report_done", args=[link.account_id])
    assert (done.status_code, refreshed.status_code) == (200, 200)
    assert Investigation.objects.count() == 1


def test_the_done_page_shows_a_random_reference_not_the_row_id(client, user, link):
    client.force_login(user)

    page = client.post(report_url(link), REPORT, follow=True).content.decode()

    investigation = Investigation.objects.get()
    assert REFERENCE.fullmatch(investigation.reference)
    assert f"reference {investigation.reference}" in page
    assert f"reference {investigation.pk})" not in page


def test_references_are_unique_and_recorded_in_the_audit(client, user, link):
    client.force_login(user)

    for _ in range(3):
        client.post(report_url(link), REPORT)

    references = set(Investigation.objects.values_list("reference", flat=True))
    assert len(references) == 3
    audited = AuditEvent.objects.filter(event=AuditEvent.Event.SUSPICIOUS_ACTIVITY_REPORTED)
    assert {event.details["reference"] for event in audited} == references


def test_another_user_of_the_account_does_not_see_the_reference(client, user, link):
    client.force_login(user)
    client.post(report_url(link), REPORT)
    colleague = AccountLinkFactory.create(account=link.account).user
    client.force_login(colleague)

    response = client.get(reverse("accounts:report_done", args=[link.account_id]))

    assert response.status_code == 404
    assert Investigation.objects.get().reference not in response.content.decode()


def test_the_done_page_without_a_report_is_not_found(client, user, link):
    client.force_login(user)

    assert client.get(reverse("accounts:report_done", args=[link.account_id])).status_code == 404


def test_the_done_page_of_another_account_is_not_found(client, user, link):
    client.force_login(user)
    client.post(report_url(link), REPORT)
    other = AccountLinkFactory.create(user=user)

    response = client.get(reverse("accounts:report_done", args=[other.account_id]))

    assert response.status_code == 404


def test_the_admin_lists_and_finds_reports_by_reference(client, mfa_staff_user, user, link):
    client.force_login(user)
    client.post(report_url(link), REPORT)
    reference = Investigation.objects.get().reference
    client.force_login(mfa_staff_user.user)

    found = client.get(reverse("admin:accounts_investigation_changelist"), {"q": reference})

    nothing = client.get(reverse("admin:accounts_investigation_changelist"), {"q": "INV-XXXX"})

    assert found.status_code == 200
    assert found.context["cl"].result_count == 1
    assert nothing.context["cl"].result_count == 0
    assert f">{reference}</a></th>" in found.content.decode()  # the column that opens it


# --- a contact through their removal link ------------------------------------------------------


def test_a_contact_report_redirects_and_shows_the_reference(client, notice):
    token = removal_links.make_token(notice)
    posted = client.post(reverse("accounts:removal_report", args=[token]), REPORT)
    done = client.get(posted["Location"])
    refreshed = client.get(posted["Location"])

    assert posted.status_code == 302
    assert posted["Location"] == reverse("accounts:removal_report_done", args=[token])
    investigation = Investigation.objects.get()
    assert investigation.reporter_notice == notice
    assert investigation.reference in done.content.decode()
    assert refreshed.status_code == 200
    assert Investigation.objects.count() == 1


def test_someone_else_with_the_link_does_not_see_the_reference(client, notice):
    client.post(contact_url(notice), REPORT)
    stranger = client.__class__()

    response = stranger.get(contact_url(notice, "accounts:removal_report_done"))

    assert response.status_code == 404
    assert Investigation.objects.get().reference not in response.content.decode()


def test_a_contact_done_page_speaks_the_contacts_language(client, notice):
    notice.language = "fr"
    notice.save(update_fields=["language"])

    page = client.post(contact_url(notice), REPORT, follow=True)

    assert page["Content-Language"] == "fr"
    assert Investigation.objects.get().reference in page.content.decode()


def test_an_investigation_reads_as_its_reference(notice):
    investigation = Investigation.objects.create(
        account=notice.link.account,
        reporter_name="Owen Fraser",
        reporter_email="owen@mapleleaf.example",
        description="x",
        group=Investigation.Group.SMALL_BUSINESS,
    )

    assert str(investigation).startswith(investigation.reference)
    assert REFERENCE.fullmatch(investigation.reference)
