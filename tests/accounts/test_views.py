"""The signed-in user's pages: linking, "My business accounts", an account, leaving, reporting."""

import re

import pytest
from django.urls import reverse

from accounts.models import AccountLink, AuditEvent, BusinessAccount, Investigation
from accounts.rights import Right
from outages import gate
from tests.accounts.conftest import CONTRACT_NUMBER, CUSTOMER_NUMBER, POSTAL_CODE
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory

pytestmark = pytest.mark.django_db
LINK = reverse("accounts:link")
REFUSED = "These details do not match our records."


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def without_csrf(html: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html.decode())


# --- the link form -----------------------------------------------------------------------------


def test_the_link_form_has_labelled_fields_with_help(signed_in):
    response = signed_in.get(LINK)

    page = response.content.decode()
    assert response.status_code == 200
    for field in ("customer_number", "postal_code", "contract_number"):
        assert f'<label class="form-label" for="id_{field}">' in page
        assert f'aria-describedby="id_{field}_helptext"' in page
    assert "Spaces and dashes are fine." in page


@pytest.mark.parametrize("name", ["accounts:link", "home", "accounts:security"])
def test_anonymous_visitors_are_sent_to_sign_in_except_for_the_security_page(client, name):
    response = client.get(reverse(name))

    if name == "accounts:security":
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_linking_takes_the_user_to_the_account(
    signed_in, linkable, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            LINK,
            {
                "customer_number": "0001 234 567",
                "postal_code": "k1a0b1",
                "contract_number": CONTRACT_NUMBER,
            },
        )

    link = AccountLink.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:detail", args=[link.account_id])
    page = signed_in.get(response["Location"]).content.decode()
    assert "Maple Leaf Outfitters Inc. is now linked to your profile." in page


def test_a_refusal_is_shown_at_the_top_of_the_form(signed_in, linkable):
    response = signed_in.post(LINK, {**linkable.proofs, "postal_code": "K1A 0B2"})

    assert response.status_code == 400
    page = response.content.decode()
    assert REFUSED in page
    assert 'role="alert"' in page
    assert not AccountLink.objects.exists()


def test_a_malformed_postal_code_is_explained_next_to_the_field(signed_in, linkable):
    response = signed_in.post(LINK, {**linkable.proofs, "postal_code": "12345"})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_postal_code_error"' in page
    assert "Enter a postal code in the format XXX XXX." in page
    assert 'aria-invalid="true"' in page


def test_missing_fields_are_explained(signed_in):
    response = signed_in.post(LINK, {})

    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") >= 2


TYPED = {
    "customer_number": CUSTOMER_NUMBER,
    "postal_code": POSTAL_CODE,
    "contract_number": CONTRACT_NUMBER,
}


def _account(**overrides):
    fields = {"customer_number": CUSTOMER_NUMBER, "postal_code": POSTAL_CODE, **overrides}
    account = BusinessAccountFactory.create(**fields)
    ContractFactory.create(account=account, number="4099999999")
    return account


STATES = {
    "unknown account": lambda: None,
    "wrong postal code": lambda: _account(postal_code="H4Z 1A1"),
    "wrong contract number": lambda: _account(),
    "wrong customer number": lambda: _account(customer_number="0007654321"),
}


def test_no_response_tells_which_proof_was_wrong_or_whether_the_account_exists(signed_in):
    """The same typed details against each state of the records: one identical answer."""
    answers = set()
    for make_state in STATES.values():
        BusinessAccount.objects.all().delete()
        make_state()
        response = signed_in.post(LINK, TYPED)
        answers.add((response.status_code, without_csrf(response.content)))

    assert len(answers) == 1
    status, page = answers.pop()
    assert status == 400
    assert REFUSED in page


def test_already_linked_says_so_and_makes_no_duplicate(signed_in, user, linkable):
    AccountLinkFactory.create(user=user, account=linkable.account)

    response = signed_in.post(LINK, linkable.proofs, follow=True)

    assert response.redirect_chain[-1][0] == reverse("accounts:detail", args=[linkable.account.pk])
    assert "already linked to this business account" in response.content.decode()
    assert AccountLink.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_link_form_is_closed_for_maintenance(signed_in, linkable, close_feature, method):
    close_feature("account_linking")

    response = getattr(signed_in, method)(LINK, linkable.proofs if method == "post" else None)

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert not AccountLink.objects.exists()


# --- "My business accounts" ---------------------------------------------------------------------


def test_home_lists_only_the_users_active_links(signed_in, user):
    mine = AccountLinkFactory.create(user=user, account__legal_name="Mine Ltd.")
    AccountLinkFactory.create(
        user=user,
        account__legal_name="Gone Ltd.",
        status=AccountLink.Status.REMOVED,
        removed_at=mine.created_at,
    )
    AccountLinkFactory.create(account__legal_name="Someone Else Inc.")

    page = signed_in.get(reverse("home")).content.decode()

    assert "Mine Ltd." in page
    assert "Gone Ltd." not in page
    assert "Someone Else Inc." not in page
    assert reverse("accounts:detail", args=[mine.account_id]) in page
    assert f'href="{LINK}"' in page


def test_home_with_no_account_invites_to_link_one(signed_in):
    page = signed_in.get(reverse("home")).content.decode()

    assert "not linked to any business account yet" in page


def test_home_disables_the_link_button_with_the_reason_during_maintenance(signed_in, close_feature):
    close_feature("account_linking")

    page = signed_in.get(reverse("home")).content.decode()

    assert f'href="{LINK}"' not in page
    assert "disabled" in page
    assert "Account linking is unavailable for maintenance until" in page


HOME_QUERIES = 5  # session, user, count of linked accounts, one page of them, rights summary


@pytest.mark.parametrize("links", [1, 20])
def test_home_query_count_does_not_grow_with_links(
    signed_in, user, django_assert_num_queries, links
):
    for _ in range(links):
        AccountLinkFactory.create(user=user, right=Right.CONSULT)
    gate.snapshot()  # cached for every request; built once per process

    with django_assert_num_queries(HOME_QUERIES):
        response = signed_in.get(reverse("home"))

    assert response.status_code == 200
    assert len(response.context["accounts"]) == links


# --- an account's page --------------------------------------------------------------------------


def test_the_account_page_shows_the_account_to_a_linked_user(signed_in, user):
    link = AccountLinkFactory.create(user=user, account__legal_name="Mine Ltd.")

    response = signed_in.get(reverse("accounts:detail", args=[link.account_id]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Mine Ltd." in page
    assert reverse("accounts:report", args=[link.account_id]) in page
    assert "1 800 267-7651" in page  # a commercial account's credit management group


@pytest.mark.parametrize("name", ["accounts:detail", "accounts:leave", "accounts:report"])
def test_another_business_account_is_404(signed_in, user, name):
    AccountLinkFactory.create(user=user)
    other = AccountLinkFactory.create().account

    assert signed_in.get(reverse(name, args=[other.pk])).status_code == 404
    if name != "accounts:detail":  # a read-only page answers 405 to a POST
        assert signed_in.post(reverse(name, args=[other.pk])).status_code == 404
    assert signed_in.get(reverse(name, args=[999_999])).status_code == 404
    assert AccountLink.objects.filter(status=AccountLink.Status.ACTIVE).count() == 2


def test_a_removed_link_no_longer_opens_the_account(signed_in, user):
    link = AccountLinkFactory.create(
        user=user, status=AccountLink.Status.REMOVED, removed_at="2025-01-01T00:00Z"
    )

    assert signed_in.get(reverse("accounts:detail", args=[link.account_id])).status_code == 404


# --- removing one's own link --------------------------------------------------------------------


def test_removing_my_own_link_asks_first_then_removes(signed_in, user):
    link = AccountLinkFactory.create(user=user, account__legal_name="Mine Ltd.")
    url = reverse("accounts:leave", args=[link.account_id])

    confirm = signed_in.get(url)
    link.refresh_from_db()
    assert confirm.status_code == 200
    assert link.status == AccountLink.Status.ACTIVE
    assert 'method="post"' in confirm.content.decode()

    response = signed_in.post(url, follow=True)

    link.refresh_from_db()
    assert (link.status, link.removed_via, link.removed_by) == (
        AccountLink.Status.REMOVED,
        AccountLink.RemovedVia.SELF,
        user,
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    page = response.content.decode()
    assert "Mine Ltd. was removed from your business accounts." in page
    assert "Mine Ltd.</a>" not in page
    assert AuditEvent.objects.get().event == AuditEvent.Event.LINK_REMOVED


def test_removing_my_own_link_is_closed_for_maintenance(signed_in, user, close_feature):
    link = AccountLinkFactory.create(user=user)
    close_feature("link_removal")

    response = signed_in.post(reverse("accounts:leave", args=[link.account_id]))

    assert response.status_code == 503
    link.refresh_from_db()
    assert link.status == AccountLink.Status.ACTIVE


# --- suspicious activity ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, group, phone",
    [
        (BusinessAccount.Kind.COMMERCIAL, "credit_management", "1 800 267-7651"),
        (BusinessAccount.Kind.SMALL_BUSINESS, "small_business", "1 877 262-5762"),
    ],
)
def test_a_linked_user_reports_suspicious_activity(signed_in, user, kind, group, phone):
    link = AccountLinkFactory.create(user=user, account__kind=kind)
    url = reverse("accounts:report", args=[link.account_id])

    form = signed_in.get(url)
    response = signed_in.post(url, {"description": "Twelve orders we never placed."}, follow=True)

    assert phone in form.content.decode()
    done = reverse("accounts:report_done", args=[link.account_id])
    assert response.redirect_chain == [(done, 302)]
    assert response.status_code == 200
    assert phone in response.content.decode()
    investigation = Investigation.objects.get()
    assert (investigation.group, investigation.reporter_user, investigation.status) == (
        group,
        user,
        Investigation.Status.OPEN,
    )
    assert investigation.description == "Twelve orders we never placed."
    event = AuditEvent.objects.get()
    assert (event.event, event.actor) == (AuditEvent.Event.SUSPICIOUS_ACTIVITY_REPORTED, user)


def test_an_empty_report_is_refused(signed_in, user):
    link = AccountLinkFactory.create(user=user)

    response = signed_in.post(reverse("accounts:report", args=[link.account_id]), {})

    assert response.status_code == 400
    assert not Investigation.objects.exists()


# --- security page ------------------------------------------------------------------------------


def test_the_security_page_gives_good_practices_and_the_settings_links(signed_in):
    page = signed_in.get(reverse("accounts:security")).content.decode()

    assert "Do not share your e-mail address and password" in page
    assert "Change your password regularly." in page
    assert "Longer passwords are generally safer" in page
    assert "Keep your security details and your profile information up to date." in page
    assert reverse("account_change_password") in page
    assert reverse("mfa_index") in page
