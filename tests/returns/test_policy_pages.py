"""The return-policy pages as each user sees them: the table (rights, sorting, paging, suspended
policies, expiring cards, bounded queries), a policy's page with its direct link, the form that
creates and edits, the buttons that activate, deactivate and delete, the gate, the validation
queue's summary, and the support admin's pages."""

import datetime
import re
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import BusinessAccount, Contract, Grant, Right, ValidationRequest
from billing.models import PaymentMethod
from outages.features import Feature
from outages.models import Interruption
from returns import actions
from returns.models import Channel, ReturnLabel, ReturnPolicy, ShippingService
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.factories import CardFactory
from tests.outages.factories import closing
from tests.returns.factories import (
    ContractPolicyFactory,
    EventFactory,
    LabelFactory,
    PolicyFactory,
    RecipientFactory,
    billed_to_account,
)

pytestmark = pytest.mark.django_db
Status = ReturnPolicy.Status


@pytest.fixture
def account() -> BusinessAccount:
    return BusinessAccountFactory.create(
        kind=BusinessAccount.Kind.SMALL_BUSINESS, legal_name="Boutique Laurier"
    )


@pytest.fixture
def card(account: BusinessAccount) -> PaymentMethod:
    return CardFactory.create(account=account, is_default=True, last4="4242")


def signed_in(client: Client, account: BusinessAccount, right: Right | int) -> Client:
    client.force_login(AccountLinkFactory.create(account=account, right=right).user)
    return client


def url(name: str, account: BusinessAccount, *args: Any) -> str:
    return reverse(f"returns:{name}", args=[account.pk, *args])


def page_text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def texts(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def form_data(card: PaymentMethod | None = None, **changes: Any) -> dict[str, Any]:
    data = {
        "name": "Boutique returns",
        "channel": Channel.ONLINE,
        "service": ShippingService.EXPEDITED_PARCEL,
        "return_name": "Returns desk",
        "return_street": "200 Rideau Street",
        "return_city": "Ottawa",
        "return_province": "ON",
        "return_postal_code": "k1n5y1",
        "pay_by": f"card:{card.pk}" if card else "",
        "instructions": "Pack it well.",
        "return_window_days": "30",
    }
    return {**data, **changes}


# --- the table ----------------------------------------------------------------------------------


@pytest.mark.parametrize("right", [Right.CONSULT, Right.MANAGE, Right.VALIDATE])
def test_every_right_reads_the_table_and_another_business_is_a_404(client, account, card, right):
    PolicyFactory.create(account=account, payment_method=card, name="Boutique returns")
    theirs = BusinessAccountFactory.create()
    PolicyFactory.create(account=theirs, name="Their returns")
    signed_in(client, account, right)

    mine = client.get(url("policies", account))
    other = client.get(url("policies", theirs))

    assert mine.status_code == 200 and "Boutique returns" in page_text(mine)
    assert "Their returns" not in page_text(mine)
    assert other.status_code == 404


def test_without_any_right_the_table_is_a_404(client, account, card):
    signed_in(client, account, 0)

    assert client.get(url("policies", account)).status_code == 404


def test_each_row_gives_its_id_channel_service_payment_and_status(client, account, card):
    policy = PolicyFactory.create(
        account=account,
        payment_method=card,
        name="Boutique returns",
        channel=Channel.POST_OFFICE,
        service=ShippingService.PRIORITY,
    )
    signed_in(client, account, Right.CONSULT)

    text = page_text(client.get(url("policies", account)))

    assert f"RP-{policy.pk:06d}" in text
    assert "At a post office, with a code shown at the counter" in text
    assert "Priority" in text and "Visa ending in 4242" in text
    assert '<span class="badge text-bg-success">Active</span>' in text
    assert "labels already issued stay valid" in text.lower()


def test_a_policy_paid_by_an_agreement_shows_the_agreement_number(client):
    account = BusinessAccountFactory.create()
    contract = ContractFactory.create(account=account, number="4000012345")
    ContractPolicyFactory.create(account=account, contract=contract)
    signed_in(client, account, Right.CONSULT)

    assert "Agreement 4000012345" in page_text(client.get(url("policies", account)))


def test_the_buttons_follow_the_readers_rights(client, account, card):
    PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    listing = url("policies", account)

    consult = page_text(signed_in(client, account, Right.CONSULT).get(listing))
    manage = page_text(signed_in(Client(), account, Right.MANAGE).get(listing))
    validate = page_text(signed_in(Client(), account, Right.VALIDATE).get(listing))

    assert ">Open<" in consult
    for button in ("Create a return policy", ">Edit<", "Activate", ">Delete<"):
        assert button not in consult
    assert "Request activation" in manage and ">Edit<" in manage and ">Delete<" in manage
    assert ">Activate<" in validate and "Request activation" not in validate


def test_a_contract_only_user_sees_the_policies_of_their_contract_only(client):
    account = BusinessAccountFactory.create()
    theirs, other = ContractFactory.create(account=account), ContractFactory.create(account=account)
    mine = ContractPolicyFactory.create(account=account, contract=theirs, name="Mine to see")
    hidden = ContractPolicyFactory.create(account=account, contract=other, name="Other contract")
    PolicyFactory.create(account=account, name="Paid by card")
    link = AccountLinkFactory.create(account=account, right=0)
    Grant.objects.create(link=link, contract=theirs, level=Right.CONSULT)
    client.force_login(link.user)

    text = page_text(client.get(url("policies", account)))

    assert "Mine to see" in text
    assert "Other contract" not in text and "Paid by card" not in text
    assert client.get(url("policy", account, mine.pk)).status_code == 200
    assert client.get(url("policy", account, hidden.pk)).status_code == 404


def names_in(response: Any) -> list[str]:
    return [row.policy.name for row in response.context["rows"]]


def test_the_table_sorts_by_whitelisted_columns_only(client, account, card):
    for name, status in (("Bravo", Status.INACTIVE), ("alpha", Status.ACTIVE), ("Charlie", None)):
        PolicyFactory.create(
            account=account,
            payment_method=card,
            name=name,
            **(
                {"status": status}
                if status
                else {"status": Status.SUSPENDED, "suspended_because": "card_expired"}
            ),
        )
    signed_in(client, account, Right.CONSULT)
    listing = url("policies", account)

    assert names_in(client.get(listing)) == ["Charlie", "alpha", "Bravo"]  # newest first
    assert names_in(client.get(listing, {"sort": "name"})) == ["alpha", "Bravo", "Charlie"]
    assert names_in(client.get(listing, {"sort": "-name"})) == ["Charlie", "Bravo", "alpha"]
    assert names_in(client.get(listing, {"sort": "status"})) == ["alpha", "Bravo", "Charlie"]
    assert names_in(client.get(listing, {"sort": "created"})) == ["Bravo", "alpha", "Charlie"]
    unknown = client.get(listing, {"sort": "account__legal_name"})
    assert unknown.status_code == 200 and unknown.context["sort"] == "-created"
    assert 'aria-sort="ascending"' in page_text(client.get(listing, {"sort": "name"}))


def test_the_table_shows_25_policies_a_page_and_keeps_the_sort(client, account, card):
    PolicyFactory.create_batch(30, account=account, payment_method=card)
    signed_in(client, account, Right.CONSULT)

    first = client.get(url("policies", account), {"sort": "name"})
    second = client.get(url("policies", account), {"sort": "name", "page": 2})

    assert len(first.context["rows"]) == 25 and len(second.context["rows"]) == 5
    assert "?sort=name&amp;page=2" in page_text(first)
    assert "Page 1 of 2" in page_text(first)


def test_a_suspended_policy_says_why_and_what_to_do(client, account, card):
    policy = PolicyFactory.create(
        account=account,
        payment_method=card,
        status=Status.SUSPENDED,
        suspended_because=ReturnPolicy.SuspendedBecause.CARD_EXPIRED,
    )
    signed_in(client, account, Right.VALIDATE)

    for page in (url("policies", account), url("policy", account, policy.pk)):
        text = page_text(client.get(page))
        assert "Suspended" in text
        assert "The card that pays for returns has expired." in text
        assert "1 800 267-7651" in text and policy.reference in text
        assert reverse("billing:methods", args=[account.pk]) in text
        assert "Request activation" not in text and ">Activate<" not in text


def test_a_suspended_agreement_policy_asks_to_check_the_account_is_in_good_standing(client):
    account = BusinessAccountFactory.create()
    policy = ContractPolicyFactory.create(
        account=account,
        status=Status.SUSPENDED,
        suspended_because=ReturnPolicy.SuspendedBecause.AGREEMENT_ENDED,
    )
    signed_in(client, account, Right.CONSULT)

    text = page_text(client.get(url("policy", account, policy.pk)))

    assert "The agreement that pays for returns has ended." in text
    assert "account is in good standing" in text and "1 800 267-7651" in text


@time_machine.travel(datetime.datetime(2031, 12, 5, 15, tzinfo=datetime.UTC))
def test_the_table_warns_which_active_policies_an_expiring_card_would_suspend(
    client, account, card
):
    # `card` is valid through December 31, 2031: within 30 days. January's is not yet.
    january = CardFactory.create(account=account, exp_month=1, exp_year=2032, last4="1111")
    PolicyFactory.create(account=account, payment_method=card, name="Expiring soon")
    PolicyFactory.create(account=account, payment_method=card, name="Idle", status=Status.INACTIVE)
    PolicyFactory.create(account=account, payment_method=january, name="Safe")
    signed_in(client, account, Right.CONSULT)

    text = page_text(client.get(url("policies", account)))

    start = text.index("would be suspended")
    warning = text[start - 100 : text.index("</ul>", start)]
    assert (
        "This active return policy would be suspended when Visa ending in 4242 expires on "
        "December 31, 2031:" in warning
    )
    assert "Expiring soon" in warning
    assert "Idle" not in warning and "Safe" not in warning
    assert text.count("would be suspended") == 1


# --- a policy's page ----------------------------------------------------------------------------


def test_the_policy_page_gives_the_direct_link_in_a_labelled_read_only_field(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card, channel=Channel.ONLINE)
    LabelFactory.create_batch(3, policy=policy)
    LabelFactory.create(policy=policy, state=ReturnLabel.State.DELIVERED)
    signed_in(client, account, Right.CONSULT)

    response = client.get(url("policy", account, policy.pk))

    text = page_text(response)
    link = f"http://testserver/return/{policy.link_token}/"
    assert response.context["direct_link"] == link
    assert f'id="direct-link" value="{link}" readonly' in text
    assert '<label class="form-label" for="direct-link">Direct return link</label>' in text
    assert 'data-copy-target="direct-link"' in text
    assert "/static/returns/copy.js" in text and "<script>" not in text
    assert response.context["counts"] == {"issued": 4, "dropped_off": 0, "delivered": 1}
    assert "Labels already issued stay valid after the policy is deactivated or deleted" in text
    assert policy.reference in text


def test_a_post_office_policy_has_no_direct_link(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card, channel=Channel.POST_OFFICE)
    signed_in(client, account, Right.CONSULT)

    text = page_text(client.get(url("policy", account, policy.pk)))

    assert "Direct return link" not in text and policy.link_token not in text


def test_a_policy_of_another_business_or_deleted_is_a_404(client, account, card):
    theirs = PolicyFactory.create()
    gone = PolicyFactory.create(account=account, payment_method=card)
    ReturnPolicy.objects.filter(pk=gone.pk).update(deleted_at=datetime.datetime.now(datetime.UTC))
    signed_in(client, account, Right.VALIDATE)

    for name in ("policy", "policy_edit", "policy_delete"):
        assert client.get(url(name, account, theirs.pk)).status_code == 404
        assert client.get(url(name, account, gone.pk)).status_code == 404
    assert client.post(url("policy_activate", account, theirs.pk)).status_code == 404


def test_the_policy_page_counts_labels_in_one_query(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card)
    LabelFactory.create_batch(20, policy=policy)
    signed_in(client, account, Right.CONSULT)
    page = url("policy", account, policy.pk)
    client.get(page)

    with CaptureQueriesContext(connection) as few:
        client.get(page)
    LabelFactory.create_batch(30, policy=policy)
    with CaptureQueriesContext(connection) as more:
        client.get(page)

    assert len(more) == len(few)
    assert sum("returns_returnlabel" in q["sql"] for q in more.captured_queries) == 1


# --- creating and editing -----------------------------------------------------------------------


def test_a_manager_creates_a_policy_from_the_form(client, account, card):
    signed_in(client, account, Right.MANAGE)

    form = client.get(url("policy_create", account))
    response = client.post(url("policy_create", account), form_data(card))

    text = page_text(form)
    assert "Expedited Parcel — usually 5 business days" in text
    assert "Priority — usually 1 business day" in text
    assert f'value="card:{card.pk}"' in text and "Visa ending in 4242, expires 12/2031" in text
    policy = ReturnPolicy.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("policy", account, policy.pk)
    assert (policy.name, policy.return_postal_code, policy.payment_method, policy.status) == (
        "Boutique returns",
        "K1N 5Y1",
        card,
        Status.INACTIVE,
    )
    assert policy.return_window_days == 30 and policy.instructions == "Pack it well."


def test_a_commercial_account_chooses_among_its_active_agreements(client):
    account = billed_to_account()
    active = ContractFactory.create(account=account, number="4000000111")
    ContractFactory.create(account=account, number="4000000222", status=Contract.Status.EXPIRED)
    signed_in(client, account, Right.MANAGE)

    text = page_text(client.get(url("policy_create", account)))
    response = client.post(url("policy_create", account), form_data(pay_by=f"contract:{active.pk}"))

    assert "Agreement 4000000111" in text and "4000000222" not in text
    assert response.status_code == 302
    assert ReturnPolicy.objects.get().contract == active


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("return_postal_code", "12345", "Enter a postal code in the format XXX XXX."),
        ("return_postal_code", "", "This field is required."),
        ("return_window_days", "0", "Ensure this value is greater than or equal to 1."),
        ("return_window_days", "366", "Ensure this value is less than or equal to 365."),
        ("return_window_days", "a week", "Enter a whole number."),
        ("instructions", "x" * 1001, "Ensure this value has at most 1000 characters"),
        ("name", "", "This field is required."),
        ("name", "n" * 101, "Ensure this value has at most 100 characters"),
        ("channel", "SMOKE_SIGNALS", "Select a valid choice."),
        ("service", "TELEPORT", "Select a valid choice."),
        ("return_province", "ZZ", "Select a valid choice."),
        ("pay_by", "", "Choose the agreement or the card that pays for returns."),
        ("pay_by", "card:999999", "Choose one of the agreements or cards shown."),
    ],
)
def test_every_bad_input_is_a_form_error_and_saves_nothing(
    client, account, card, field, value, error
):
    signed_in(client, account, Right.MANAGE)

    response = client.post(url("policy_create", account), form_data(card, **{field: value}))

    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors[field])
    assert "Please correct the errors below." in page_text(response)
    assert not ReturnPolicy.objects.exists()


def test_another_business_card_cannot_be_chosen(client, account, card):
    theirs = CardFactory.create()
    signed_in(client, account, Right.MANAGE)

    response = client.post(url("policy_create", account), form_data(theirs))

    assert response.context["form"].errors["pay_by"]
    assert not ReturnPolicy.objects.exists()


def test_without_a_card_or_agreement_the_form_says_why_and_links_to_add_a_card(client, account):
    CardFactory.create(account=account, status=PaymentMethod.Status.EXPIRED)
    signed_in(client, account, Right.MANAGE)

    form = client.get(url("policy_create", account))
    response = client.post(url("policy_create", account), form_data())

    text = page_text(form)
    assert "Nothing can pay for returns yet." in text
    assert f'href="{reverse("billing:add_card", args=[account.pk])}"' in text
    assert response.context["form"].errors["pay_by"]
    assert not ReturnPolicy.objects.exists()


def test_a_refusal_of_the_service_is_shown_as_a_form_error(client, account, card, monkeypatch):
    """Should the form offer a card the service no longer accepts (removed meanwhile), the
    service's own words are what the page shows."""
    expired = CardFactory.create(account=account, status=PaymentMethod.Status.EXPIRED)
    monkeypatch.setattr(
        "returns.views.policies.paying_cards",
        lambda account: PaymentMethod.objects.filter(account=account),
    )
    signed_in(client, account, Right.MANAGE)

    response = client.post(url("policy_create", account), form_data(expired))

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Returns must be paid by an active parcel-services agreement of the account or by one of "
        "its cards: add a card in Billing, or choose an agreement."
    ]
    assert not ReturnPolicy.objects.exists()


def test_consult_cannot_open_the_form_or_edit(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card)
    signed_in(client, account, Right.CONSULT)

    assert client.get(url("policy_create", account)).status_code == 404
    assert client.post(url("policy_create", account), form_data(card)).status_code == 404
    assert client.post(url("policy_edit", account, policy.pk), form_data(card)).status_code == 404
    assert ReturnPolicy.objects.get().name == policy.name


def test_a_manager_edits_a_policy_from_its_filled_in_form(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card, name="Old name")
    signed_in(client, account, Right.MANAGE)

    form = client.get(url("policy_edit", account, policy.pk))
    response = client.post(
        url("policy_edit", account, policy.pk),
        form_data(card, name="New name", return_window_days=""),
    )

    assert form.context["form"].initial["pay_by"] == f"card:{card.pk}"
    assert 'value="Old name"' in page_text(form)
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.name, policy.return_window_days, policy.status) == (
        "New name",
        None,
        Status.ACTIVE,
    )


# --- activating, deactivating, deleting ---------------------------------------------------------


def test_a_validator_activates_and_deactivates_from_the_table(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    signed_in(client, account, Right.VALIDATE)

    activated = client.post(url("policy_activate", account, policy.pk), {"back": "list"})
    policy.refresh_from_db()
    assert policy.status == Status.ACTIVE
    assert activated["Location"] == url("policies", account)
    assert texts(activated) == [
        f"The policy “{policy.name}” ({policy.reference}) is active: your customers can get labels."
    ]

    deactivated = client.post(url("policy_deactivate", account, policy.pk))
    policy.refresh_from_db()
    assert policy.status == Status.INACTIVE
    assert deactivated["Location"] == url("policy", account, policy.pk)
    assert "Labels already issued stay valid." in texts(deactivated)[-1]


def test_a_manager_prepares_an_activation_request_from_the_table(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    signed_in(client, account, Right.MANAGE)

    response = client.post(url("policy_activate", account, policy.pk), {"back": "list"})

    request = ValidationRequest.objects.get()
    assert (request.kind, request.payload["policy"]) == (actions.ACTIVATE, policy.pk)
    assert "was sent to the account's validators" in texts(response)[0]
    policy.refresh_from_db()
    assert policy.status == Status.INACTIVE


def test_activating_without_a_usable_payment_says_so_and_queues_nothing(client, account):
    expired = CardFactory.create(account=account, status=PaymentMethod.Status.EXPIRED)
    policy = PolicyFactory.create(account=account, payment_method=expired, status=Status.INACTIVE)
    signed_in(client, account, Right.MANAGE)

    response = client.post(url("policy_activate", account, policy.pk))
    page = page_text(client.get(url("policy", account, policy.pk)))

    assert texts(response) == [
        "Returns must be paid by an active parcel-services agreement of the account or by one of "
        "its cards: add a card in Billing, or choose an agreement."
    ]
    assert not ValidationRequest.objects.exists()
    assert "This policy cannot be activated" in page
    assert url("policy_edit", account, policy.pk) in page


def test_consult_cannot_activate_and_get_is_refused(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    signed_in(client, account, Right.CONSULT)

    assert client.post(url("policy_activate", account, policy.pk)).status_code == 404
    assert client.post(url("policy_delete", account, policy.pk)).status_code == 404
    signed_in(client, account, Right.VALIDATE)
    assert client.get(url("policy_activate", account, policy.pk)).status_code == 405
    policy.refresh_from_db()
    assert (policy.status, policy.deleted_at) == (Status.INACTIVE, None)


def test_deleting_asks_to_confirm_then_the_policy_is_gone_but_its_token_kept(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card, name="To delete")
    signed_in(client, account, Right.VALIDATE)

    confirm = page_text(client.get(url("policy_delete", account, policy.pk)))
    response = client.post(url("policy_delete", account, policy.pk))

    assert "A deleted policy cannot be restored." in confirm
    assert "Labels already issued with this policy stay valid." in confirm
    assert response["Location"] == url("policies", account)
    assert names_in(client.get(url("policies", account))) == []
    assert client.get(url("policy", account, policy.pk)).status_code == 404
    kept = ReturnPolicy.objects.get(pk=policy.pk)
    assert kept.is_deleted and kept.link_token == policy.link_token


def test_a_manager_confirming_a_deletion_sends_a_request(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card)
    signed_in(client, account, Right.MANAGE)

    confirm = page_text(client.get(url("policy_delete", account, policy.pk)))
    client.post(url("policy_delete", account, policy.pk))

    assert "Send the request" in confirm
    assert ValidationRequest.objects.get().kind == actions.DELETE
    policy.refresh_from_db()
    assert not policy.is_deleted


def test_the_validator_reads_the_request_summary_in_the_queue(client, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card, name="Winter returns")
    signed_in(client, account, Right.MANAGE).post(url("policy_delete", account, policy.pk))
    request = ValidationRequest.objects.get()
    signed_in(client, account, Right.VALIDATE)

    text = page_text(client.get(reverse("accounts:request_detail", args=[account.pk, request.pk])))

    assert "Delete a return policy" in text
    assert "Winter returns" in text and policy.reference in text
    assert "A deleted policy cannot be restored" in text
    assert "Labels already issued with this policy stay valid." in text


# --- the gate -----------------------------------------------------------------------------------


def test_during_a_return_policies_window_pages_read_and_buttons_say_why(
    client, account, card, django_capture_on_commit_callbacks
):
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        closing(Feature.RETURN_POLICIES, scope=Interruption.Scope.WRITES)
    signed_in(client, account, Right.VALIDATE)

    listing = client.get(url("policies", account))
    detail = client.get(url("policy", account, policy.pk))

    for response in (listing, detail):
        text = page_text(response)
        assert response.status_code == 200
        assert "Changing return policies is unavailable for maintenance" in text
        assert 'disabled aria-describedby="policies-down"' in text
        assert url("policy_edit", account, policy.pk) not in text
    assert client.get(url("policy_create", account)).status_code == 503
    assert client.post(url("policy_activate", account, policy.pk)).status_code == 503
    assert client.post(url("policy_delete", account, policy.pk)).status_code == 503
    policy.refresh_from_db()
    assert (policy.status, policy.deleted_at) == (Status.INACTIVE, None)


def test_a_window_closing_return_policies_entirely_closes_the_pages(
    client, account, card, django_capture_on_commit_callbacks
):
    policy = PolicyFactory.create(account=account, payment_method=card)
    with django_capture_on_commit_callbacks(execute=True):
        closing(Feature.RETURN_POLICIES, scope=Interruption.Scope.ALL)
    signed_in(client, account, Right.CONSULT)

    for page in (url("policies", account), url("policy", account, policy.pk)):
        response = client.get(page)
        assert response.status_code == 503 and int(response["Retry-After"]) > 0


# --- bounded queries ----------------------------------------------------------------------------

FEW, MANY = 10, 1000


def policies_up_to(account: BusinessAccount, count: int, card: PaymentMethod) -> None:
    contract = ContractFactory.create(account=account)
    have = ReturnPolicy.objects.filter(account=account).count()
    ReturnPolicy.objects.bulk_create(
        ReturnPolicy(
            account=account,
            name=f"Policy {n:04d}",
            channel=Channel.BOTH,
            service=ShippingService.REGULAR_PARCEL,
            return_name="Returns",
            return_street="1 Main Street",
            return_city="Ottawa",
            return_province="ON",
            return_postal_code="K1A 0B1",
            payment_method=card if n % 2 else None,
            contract=None if n % 2 else contract,
            status=[Status.ACTIVE, Status.INACTIVE][n % 2],
            link_token=f"token-{account.pk}-{n}",
        )
        for n in range(have, count)
    )


@time_machine.travel(datetime.datetime(2031, 12, 10, 15, tzinfo=datetime.UTC))
@pytest.mark.parametrize("sort", ["-created", "name", "status"])
def test_the_table_costs_the_same_queries_at_10_and_1000_policies(client, card, sort):
    account = card.account
    client.force_login(AccountLinkFactory.create(account=account, right=Right.VALIDATE).user)
    listing = url("policies", account)
    client.get(listing)  # the session and the gate's snapshot, read once
    counts = []
    for count in (FEW, MANY):
        policies_up_to(account, count, card)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(listing, {"sort": sort})
        assert response.status_code == 200
        counts.append(len(queries))

    # The session, the user, the account, the rights summary, the count, the page of policies
    # (with their card or agreement), and the card expiring this month with its policies.
    assert counts == [8, 8]
    assert len(response.context["rows"]) == 25


# --- support admin ------------------------------------------------------------------------------


@pytest.fixture
def staff(client: Client, mfa_staff_user: Any) -> Client:
    client.force_login(mfa_staff_user.user)
    return client


def test_every_returns_admin_page_opens_and_rows_cannot_be_deleted(staff, account, card):
    policy = PolicyFactory.create(account=account, payment_method=card)
    label = LabelFactory.create(policy=policy)
    event = EventFactory.create(label=label)
    recipient = RecipientFactory.create(account=account)
    for model, row in (
        ("returnpolicy", policy),
        ("returnlabel", label),
        ("trackingevent", event),
        ("notificationrecipient", recipient),
    ):
        assert staff.get(reverse(f"admin:returns_{model}_changelist")).status_code == 200
        assert staff.get(reverse(f"admin:returns_{model}_change", args=[row.pk])).status_code == 200
        assert staff.get(reverse(f"admin:returns_{model}_delete", args=[row.pk])).status_code == 403
    assert staff.get(reverse("admin:returns_dailyreturns_changelist")).status_code == 200
    assert staff.get(reverse("admin:returns_returnlabel_add")).status_code == 403


def test_the_admin_finds_a_policy_by_the_id_users_quote_or_its_customer_number(
    staff, account, card
):
    policy = PolicyFactory.create(account=account, payment_method=card, name="Findable")
    PolicyFactory.create(name="Other")
    listing = reverse("admin:returns_returnpolicy_changelist")

    for term in (policy.reference, f"rp-{policy.pk}", account.customer_number, "Findable"):
        found = staff.get(listing, {"q": term})
        assert list(found.context["cl"].result_list) == [policy], term


@pytest.mark.parametrize("term", ["²", "RP-²", "rp-٤٢", "9" * 30, "RP-" + "1" * 19])
def test_an_admin_search_for_digits_that_are_no_id_finds_nothing_and_answers(staff, term):
    """Superscript and Arabic-Indic digits pass str.isdigit() but not int(); a run of digits
    beyond a bigint would overflow the database's id column. Neither is an id."""
    PolicyFactory.create(name="Other")

    found = staff.get(reverse("admin:returns_returnpolicy_changelist"), {"q": term})

    assert found.status_code == 200
    assert list(found.context["cl"].result_list) == []


def test_the_admin_finds_a_label_by_tracking_number_order_or_customer_email(staff, card):
    label = LabelFactory.create(order_reference="ORD-77", customer_email="shopper@example.org")
    LabelFactory.create()
    listing = reverse("admin:returns_returnlabel_changelist")

    for term in (label.tracking_number, "ORD-77", "shopper@example.org"):
        assert list(staff.get(listing, {"q": term}).context["cl"].result_list) == [label]
