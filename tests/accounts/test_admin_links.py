"""Support staff's side: links, notices, the read-only audit trail and investigations."""

import pytest
from django.urls import reverse

from accounts import audit, rights
from accounts.models import AccountLink, AuditEvent, Investigation, LinkNotice
from accounts.rights import Right
from outages import gate
from tests.accounts.link_factories import AccountLinkFactory, LinkNoticeFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:accounts_accountlink_changelist",
    "admin:accounts_linknotice_changelist",
    "admin:accounts_auditevent_changelist",
    "admin:accounts_investigation_changelist",
]


@pytest.fixture
def staff(client, mfa_staff_user):
    client.force_login(mfa_staff_user.user)
    return client


def make_rows(n: int) -> None:
    for _ in range(n):
        notice = LinkNoticeFactory.create()
        account = notice.link.account
        audit.record(
            actor=notice.link.user, account=account, event=AuditEvent.Event.LINKED, ip="192.0.2.1"
        )
        Investigation.objects.create(
            account=account,
            reporter_name="R",
            reporter_email="r@x.example",
            description="Orders",
            group=Investigation.Group.CREDIT_MANAGEMENT,
            assignee=UserFactory.create(is_staff=True),
        )


@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_each_list_loads_and_does_not_grow_its_queries_with_rows(
    staff, changelist, django_assert_max_num_queries
):
    make_rows(1)
    gate.snapshot()  # the maintenance banner's cached snapshot, built once per process
    with django_assert_max_num_queries(100) as one:
        assert staff.get(reverse(changelist)).status_code == 200
    make_rows(10)
    with django_assert_max_num_queries(len(one)) as eleven:
        assert staff.get(reverse(changelist)).status_code == 200

    assert len(eleven) == len(one)


@pytest.mark.parametrize(
    "changelist, query",
    [
        ("admin:accounts_accountlink_changelist", "findme@x.example"),
        ("admin:accounts_linknotice_changelist", "findme@x.example"),
        ("admin:accounts_auditevent_changelist", "findme@x.example"),
    ],
)
def test_search_by_user_email(staff, changelist, query):
    make_rows(2)
    link = AccountLinkFactory.create(user=UserFactory.create(email="findme@x.example"))
    LinkNoticeFactory.create(link=link)
    audit.record(actor=link.user, account=link.account, event=AuditEvent.Event.LINKED, ip=None)

    response = staff.get(reverse(changelist), {"q": query})

    assert response.context["cl"].result_count == 1


def test_audit_events_filter_by_event(staff):
    make_rows(2)
    audit.record(actor=None, account=None, event=AuditEvent.Event.LINK_REFUSED, ip="192.0.2.3")

    response = staff.get(
        reverse("admin:accounts_auditevent_changelist"), {"event__exact": "link_refused"}
    )

    assert response.context["cl"].result_count == 1


def test_the_audit_trail_is_read_only(staff):
    event = audit.record(actor=None, account=None, event=AuditEvent.Event.LINK_REFUSED, ip=None)
    change = reverse("admin:accounts_auditevent_change", args=[event.pk])

    assert staff.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    assert staff.get(change).status_code == 200  # viewable
    assert staff.post(change, {"event": "linked"}).status_code == 403
    assert (
        staff.post(reverse("admin:accounts_auditevent_delete", args=[event.pk])).status_code == 403
    )
    event.refresh_from_db()
    assert event.event == AuditEvent.Event.LINK_REFUSED


def test_an_audit_row_cannot_be_edited_in_code_either():
    event = audit.record(actor=None, account=None, event=AuditEvent.Event.LINK_REFUSED, ip=None)
    event.details = {"forged": True}

    with pytest.raises(ValueError, match="append-only"):
        event.save()


def test_notices_are_shown_but_never_resent_or_edited(staff):
    notice = LinkNoticeFactory.create()

    listing = staff.get(reverse("admin:accounts_linknotice_changelist"))
    change = staff.post(
        reverse("admin:accounts_linknotice_change", args=[notice.pk]), {"status": "pending"}
    )

    assert listing.context["action_form"] is None  # no action at all: no resend, no delete
    assert change.status_code == 403
    assert staff.get(reverse("admin:accounts_linknotice_add")).status_code == 403


def test_staff_remove_links_through_the_service(
    staff, mfa_staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    links = [AccountLinkFactory.create(), AccountLinkFactory.create()]

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("admin:accounts_accountlink_changelist"),
            {"action": "remove_links", "_selected_action": [link.pk for link in links]},
            follow=True,
        )

    assert "2 links removed." in response.content.decode()
    for link in links:
        link.refresh_from_db()
        assert (link.status, link.removed_via, link.removed_by) == (
            AccountLink.Status.REMOVED,
            AccountLink.RemovedVia.STAFF,
            mfa_staff_user.user,
        )
    assert AuditEvent.objects.filter(event=AuditEvent.Event.LINK_REMOVED).count() == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted(link.user.email for link in links)


def test_staff_work_an_investigation_and_each_save_is_audited(staff, mfa_staff_user):
    make_rows(1)
    investigation = Investigation.objects.get()
    url = reverse("admin:accounts_investigation_change", args=[investigation.pk])

    response = staff.post(
        url,
        {
            "status": Investigation.Status.IN_PROGRESS,
            "assignee": mfa_staff_user.user.pk,
            "notes": "Called the primary contact.",
        },
    )

    assert response.status_code == 302, response.content.decode()
    investigation.refresh_from_db()
    assert investigation.status == Investigation.Status.IN_PROGRESS
    assert investigation.assignee == mfa_staff_user.user
    assert investigation.notes == "Called the primary contact."
    event = AuditEvent.objects.get(event=AuditEvent.Event.INVESTIGATION_UPDATED)
    assert event.actor == mfa_staff_user.user
    assert event.details["changed"] == ["assignee", "notes", "status"]


def test_only_staff_can_be_assigned_an_investigation(staff):
    make_rows(1)
    investigation = Investigation.objects.get()
    customer = UserFactory.create()

    response = staff.post(
        reverse("admin:accounts_investigation_change", args=[investigation.pk]),
        {"status": "open", "assignee": customer.pk, "notes": ""},
    )

    assert response.status_code == 200
    assert "assignee" in response.context["adminform"].form.errors


def test_investigations_filter_by_status_and_group(staff):
    make_rows(3)
    Investigation.objects.filter(pk=Investigation.objects.earliest("pk").pk).update(status="closed")

    response = staff.get(
        reverse("admin:accounts_investigation_changelist"),
        {"status__exact": "closed", "group__exact": "credit_management"},
    )

    assert response.context["cl"].result_count == 1


def test_each_change_page_opens(staff):
    make_rows(1)
    investigation = Investigation.objects.get()
    pages = {
        "accountlink": investigation.account.links.get().pk,
        "linknotice": LinkNotice.objects.get().pk,
        "auditevent": AuditEvent.objects.get().pk,
        "investigation": investigation.pk,
    }

    for model, pk in pages.items():
        response = staff.get(reverse(f"admin:accounts_{model}_change", args=[pk]))
        assert response.status_code == 200, model


def test_links_are_not_edited_or_deleted_in_the_admin(staff):
    link = AccountLinkFactory.create()
    change = reverse("admin:accounts_accountlink_change", args=[link.pk])

    assert staff.post(change, {"is_administrator": "on"}).status_code == 403
    assert staff.get(reverse("admin:accounts_accountlink_add")).status_code == 403
    link.refresh_from_db()
    assert link.is_administrator is False
    assert rights.of_user(link.user, link.account).whole == Right.CONSULT
