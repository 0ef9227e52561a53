"""Suspension and reinstatement of return policies: each cause billing announces (a card removed,
a card expired, the agreements ended by a conversion) suspends exactly the live policies paid that
way and tells the users who manage them; support staff reinstate them once the cause is fixed
(service and admin action), which tells those users again; the e-mails as read in English and
French; and the billing removal page listing the policies that would stop."""

import datetime
import re
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, BusinessAccount, Contract, Grant, Right, User
from billing import services as billing
from billing.hooks import dependents_of
from billing.models import PaymentMethod
from portal.models import Delivery
from portal.outbox import sending
from returns.exceptions import AlreadyInThatState, NoUsablePayment
from returns.models import ReturnPolicy
from returns.services import policies
from returns.services.policies import PolicyData
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing import fakes
from tests.billing.conftest import reauth_bypass  # noqa: F401 (a fixture)
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import UserFactory
from tests.returns.factories import ContractPolicyFactory, PolicyFactory

pytestmark = pytest.mark.django_db
IP = "198.51.100.11"
BASE = "http://testserver"
Status = ReturnPolicy.Status
Because = ReturnPolicy.SuspendedBecause
Event = AuditEvent.Event
SUSPENDED, REINSTATED = "returns.policy_suspended", "returns.policy_reinstated"


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.PORTAL_BASE_URL = BASE


@pytest.fixture
def gateway(settings: Any) -> type[fakes.FakeGateway]:
    return fakes.install(settings)


@pytest.fixture
def account() -> BusinessAccount:
    account = BusinessAccountFactory.create(
        kind=BusinessAccount.Kind.SMALL_BUSINESS, legal_name="Boutique Laurier"
    )
    BillingProfileFactory.create(account=account)
    return account


def member(account: BusinessAccount, right: Right, **user: Any) -> Any:
    return AccountLinkFactory.create(
        account=account, right=right, user=UserFactory.create(**user)
    ).user


def told(kind: str) -> list[str]:
    return sorted(Delivery.objects.filter(kind=kind).values_list("address", flat=True))


def statuses(*found: ReturnPolicy) -> list[tuple[str, str]]:
    for policy in found:
        policy.refresh_from_db()
    return [(policy.status, policy.suspended_because) for policy in found]


def suspension_audit() -> list[tuple[str, str, bool]]:
    return [
        (e.details["policy"], e.details["reason"], e.details["was_active"])
        for e in AuditEvent.objects.filter(event=Event.POLICY_SUSPENDED).order_by("pk")
    ]


# --- each cause ---------------------------------------------------------------------------------


def test_removing_a_card_suspends_the_live_policies_it_pays_and_tells_their_managers(
    account, gateway
):
    card = CardFactory.create(account=account, is_default=True)
    other = CardFactory.create(account=account)
    active = PolicyFactory.create(account=account, payment_method=card)
    idle = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    elsewhere = PolicyFactory.create(account=account, payment_method=other)
    deleted = PolicyFactory.create(account=account, payment_method=card)
    ReturnPolicy.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    validator = member(account, Right.VALIDATE, email="val@boutique.example")
    member(account, Right.MANAGE, email="man@boutique.example")
    member(account, Right.CONSULT, email="reader@boutique.example")

    billing.remove_method(actor=validator, account=account, method_id=card.pk, ip=IP)

    assert statuses(active, idle, elsewhere, deleted) == [
        (Status.SUSPENDED, Because.METHOD_REMOVED),
        (Status.SUSPENDED, Because.METHOD_REMOVED),
        (Status.ACTIVE, ""),
        (Status.ACTIVE, ""),
    ]
    assert active.suspended_at is not None
    assert sorted(suspension_audit()) == [
        (active.reference, "method_removed", True),
        (idle.reference, "method_removed", False),
    ]
    # Each policy, each user who manages it: not the reader.
    assert told(SUSPENDED) == sorted(["man@boutique.example", "val@boutique.example"] * 2)
    assert {d.facts["policy"] for d in Delivery.objects.filter(kind=SUSPENDED)} == {
        active.pk,
        idle.pk,
    }


@time_machine.travel(datetime.datetime(2032, 1, 2, 12, tzinfo=datetime.UTC))
def test_a_card_past_its_month_expires_and_suspends_its_policies(account):
    expired = CardFactory.create(account=account, exp_month=12, exp_year=2031)
    valid = CardFactory.create(account=account, exp_month=1, exp_year=2032)
    gone = PolicyFactory.create(account=account, payment_method=expired)
    kept = PolicyFactory.create(account=account, payment_method=valid)
    member(account, Right.MANAGE, email="man@boutique.example")

    billing.expire_cards(today=datetime.date(2032, 1, 2), warn_days=30)

    expired.refresh_from_db()
    assert expired.status == PaymentMethod.Status.EXPIRED
    assert statuses(gone, kept) == [(Status.SUSPENDED, Because.CARD_EXPIRED), (Status.ACTIVE, "")]
    assert told(SUSPENDED) == ["man@boutique.example"]

    billing.expire_cards(today=datetime.date(2032, 1, 2), warn_days=30)  # run again: nothing new
    assert len(suspension_audit()) == 1 and len(told(SUSPENDED)) == 1


def test_a_conversion_to_small_business_suspends_the_policies_paid_by_agreements():
    account = BusinessAccountFactory.create(legal_name="Northern Parcel Co.")
    BillingProfileFactory.create(account=account)
    contract = ContractFactory.create(account=account)
    card = CardFactory.create(account=account)
    by_agreement = ContractPolicyFactory.create(account=account, contract=contract)
    by_card = PolicyFactory.create(account=account, payment_method=card)
    link = AccountLinkFactory.create(
        account=account, right=0, user=UserFactory.create(email="contract@np.example")
    )
    Grant.objects.create(link=link, contract=contract, level=Right.MANAGE)
    member(account, Right.VALIDATE, email="boss@np.example")
    staff = UserFactory.create(is_staff=True)

    billing.convert_account(
        staff=staff, account_id=account.pk, to_kind=BusinessAccount.Kind.SMALL_BUSINESS
    )

    assert statuses(by_agreement, by_card) == [
        (Status.SUSPENDED, Because.AGREEMENT_ENDED),
        (Status.ACTIVE, ""),
    ]
    assert suspension_audit() == [(by_agreement.reference, "agreement_ended", True)]
    # Its managers: the whole account's and the contract's.
    assert told(SUSPENDED) == ["boss@np.example", "contract@np.example"]


def test_staff_ending_one_agreement_suspends_only_the_policies_it_paid():
    account = BusinessAccountFactory.create(legal_name="Northern Parcel Co.")
    ending, staying = (
        ContractFactory.create(account=account),
        ContractFactory.create(account=account),
    )
    card = CardFactory.create(account=account)
    paid_by_ending = ContractPolicyFactory.create(account=account, contract=ending)
    paid_by_staying = ContractPolicyFactory.create(account=account, contract=staying)
    by_card = PolicyFactory.create(account=account, payment_method=card)
    member(account, Right.MANAGE, email="boss@np.example")

    ending.status = Contract.Status.EXPIRED  # as the admin's contract page saves it
    ending.save()

    assert statuses(paid_by_ending, paid_by_staying, by_card) == [
        (Status.SUSPENDED, Because.AGREEMENT_ENDED),
        (Status.ACTIVE, ""),
        (Status.ACTIVE, ""),
    ]
    assert told(SUSPENDED) == ["boss@np.example"]
    ending.save()  # saved again: nothing more to suspend, nobody told twice
    assert told(SUSPENDED) == ["boss@np.example"]


def test_the_last_agreement_ending_suspends_every_policy_paid_by_an_agreement():
    """No active agreement left: the account is no longer billed to account, so an agreement
    whose own status did not change cannot pay either (there will be no invoice)."""
    account = BusinessAccountFactory.create()
    only = ContractFactory.create(account=account)
    policy = ContractPolicyFactory.create(account=account, contract=only)

    Contract.objects.filter(pk=only.pk).update(status=Contract.Status.SUSPENDED)
    only.refresh_from_db()
    only.save()

    assert statuses(policy) == [(Status.SUSPENDED, Because.AGREEMENT_ENDED)]


# --- reinstatement ------------------------------------------------------------------------------


@pytest.fixture
def suspended(account: BusinessAccount, gateway: Any) -> ReturnPolicy:
    """An active policy whose card was removed, with a manager to tell."""
    card = CardFactory.create(account=account)
    policy = PolicyFactory.create(account=account, payment_method=card, name="Boutique returns")
    member(account, Right.MANAGE, email="man@boutique.example", first_name="Ana", last_name="Roy")
    validator = member(account, Right.VALIDATE, email="val@boutique.example", language="fr")
    billing.remove_method(actor=validator, account=account, method_id=card.pk, ip=IP)
    policy.refresh_from_db()
    assert policy.status == Status.SUSPENDED
    return policy


def pay_with_a_new_card(policy: ReturnPolicy) -> PaymentMethod:
    """What the account's manager does: add a card, choose it in the policy."""
    card = CardFactory.create(account=policy.account, last4="1881")
    manager = User.objects.get(email="man@boutique.example")
    fields = {
        name: getattr(policy, name)
        for name in PolicyData.__dataclass_fields__
        if name not in ("contract_id", "payment_method_id")
    }
    policies.update_policy(
        actor=manager,
        account=policy.account,
        policy_id=policy.pk,
        data=PolicyData(**fields, contract_id=None, payment_method_id=card.pk),
        ip=IP,
    )
    return card


def test_reinstating_needs_the_cause_fixed_then_activates_and_tells_the_managers(suspended):
    staff = UserFactory.create(is_staff=True)

    with pytest.raises(NoUsablePayment):
        policies.reinstate_policy(staff=staff, policy_id=suspended.pk)
    assert statuses(suspended) == [(Status.SUSPENDED, Because.METHOD_REMOVED)]

    card = pay_with_a_new_card(suspended)
    assert statuses(suspended) == [(Status.SUSPENDED, Because.METHOD_REMOVED)]  # still staff's
    policies.reinstate_policy(staff=staff, policy_id=suspended.pk)

    suspended.refresh_from_db()
    assert (suspended.status, suspended.suspended_because, suspended.suspended_at) == (
        Status.ACTIVE,
        "",
        None,
    )
    assert suspended.payment_method == card and suspended.issues_labels
    event = AuditEvent.objects.get(event=Event.POLICY_REINSTATED)
    assert (event.actor, event.details["policy"]) == (staff, suspended.reference)
    assert told(REINSTATED) == ["man@boutique.example", "val@boutique.example"]
    with pytest.raises(AlreadyInThatState):
        policies.reinstate_policy(staff=staff, policy_id=suspended.pk)


def test_reinstating_a_policy_that_was_inactive_leaves_it_inactive(account, gateway):
    """Only a validator activates a policy: staff lifting a suspension give back what was."""
    card = CardFactory.create(account=account)
    idle = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    validator = member(account, Right.VALIDATE, email="val@boutique.example")
    billing.remove_method(actor=validator, account=account, method_id=card.pk, ip=IP)
    assert statuses(idle) == [(Status.SUSPENDED, Because.METHOD_REMOVED)]
    idle.payment_method = CardFactory.create(account=account)
    idle.save(update_fields=["payment_method"])

    policies.reinstate_policy(staff=UserFactory.create(is_staff=True), policy_id=idle.pk)

    assert statuses(idle) == [(Status.INACTIVE, "")]
    assert not idle.issues_labels


@pytest.fixture
def staff_client(client: Any, mfa_staff_user: Any) -> Any:
    client.force_login(mfa_staff_user.user)
    return client


def admin_messages(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_admin_action_reinstates_what_is_fixed_and_says_why_not_the_rest(
    staff_client, suspended, mfa_staff_user
):
    not_fixed = PolicyFactory.create(
        account=suspended.account,
        payment_method=suspended.payment_method,
        status=Status.SUSPENDED,
        suspended_because=Because.METHOD_REMOVED,
    )
    running = PolicyFactory.create(account=suspended.account)
    pay_with_a_new_card(suspended)

    response = staff_client.post(
        reverse("admin:returns_returnpolicy_changelist"),
        {"action": "reinstate", "_selected_action": [suspended.pk, not_fixed.pk, running.pk]},
    )

    assert response.status_code == 302
    assert statuses(suspended, not_fixed, running) == [
        (Status.ACTIVE, ""),
        (Status.SUSPENDED, Because.METHOD_REMOVED),
        (Status.ACTIVE, ""),
    ]
    assert admin_messages(response) == [
        f"{not_fixed.reference}: {NoUsablePayment.message}",
        f"{running.reference}: {AlreadyInThatState.message}",
        "1 policy reinstated; its users are told by e-mail.",
    ]
    event = AuditEvent.objects.get(event=Event.POLICY_REINSTATED)
    assert (event.actor, event.details["policy"]) == (mfa_staff_user.user, suspended.reference)


def reinstate_offered(client: Any) -> bool:
    listing = client.get(reverse("admin:returns_returnpolicy_changelist"))
    assert listing.status_code == 200
    form = listing.context["action_form"]
    return form is not None and "reinstate" in dict(form.fields["action"].choices)


def test_staff_who_may_only_view_policies_cannot_reinstate(client, mfa_staff_user, suspended):
    viewer = mfa_staff_user.user
    client.force_login(viewer)
    assert reinstate_offered(client)  # a superuser is offered the action
    viewer.is_superuser = False
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_returnpolicy"))
    pay_with_a_new_card(suspended)

    offered = reinstate_offered(client)
    client.post(
        reverse("admin:returns_returnpolicy_changelist"),
        {"action": "reinstate", "_selected_action": [suspended.pk]},
    )

    assert not offered
    assert statuses(suspended) == [(Status.SUSPENDED, Because.METHOD_REMOVED)]


# --- the e-mails --------------------------------------------------------------------------------


def send_all(kind: str) -> dict[str, EmailMultiAlternatives]:
    """Send every queued e-mail of `kind` through the outbox; the messages by address."""
    mail.outbox.clear()
    for delivery in Delivery.objects.filter(kind=kind):
        assert sending.send(delivery.pk), Delivery.objects.get(pk=delivery.pk).last_error
    found: dict[str, EmailMultiAlternatives] = {}
    for message in mail.outbox:
        assert isinstance(message, EmailMultiAlternatives)
        found[message.to[0]] = message
    return found


def html(message: EmailMultiAlternatives) -> str:
    content, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    return re.sub(r"[ \t\r\n]+", " ", str(content))  # a no-break space is kept


def test_the_suspension_email_says_why_what_to_do_and_which_policy_in_each_language(suspended):
    mails = send_all(SUSPENDED)

    english, french = mails["man@boutique.example"], mails["val@boutique.example"]
    ref = suspended.reference
    policy_url = f"{BASE}/business/{suspended.account_id}/returns/{suspended.pk}/"
    billing_url = BASE + reverse("billing:methods", args=[suspended.account_id])
    assert english.subject == f"Boutique Laurier: return policy {ref} is suspended"
    for part in (english.body, html(english)):
        assert "Hello Ana Roy," in part
        assert f"The return policy “Boutique returns” ({ref})" in part
        assert "Why: The card that pays for returns was removed." in part
        assert "1 800 267-7651" in part and f"quoting the policy id {ref}" in part
        assert policy_url in part and billing_url in part
        assert "Labels already issued stay valid." in part
    assert f'href="{policy_url}"' in html(english)
    # French: the reader's language (the new sentences' French is in the catalogue once merged).
    for part in (french.body, html(french)):
        assert "Bonjour" in part and "Hello" not in part
        assert ref in part and "1 800 267-7651" in part and policy_url in part
    assert "Service de dépannage" in html(french)


def test_the_reinstatement_email_says_the_policy_is_active_again(suspended):
    pay_with_a_new_card(suspended)
    policies.reinstate_policy(staff=UserFactory.create(is_staff=True), policy_id=suspended.pk)

    mails = send_all(REINSTATED)

    english, french = mails["man@boutique.example"], mails["val@boutique.example"]
    ref = suspended.reference
    assert english.subject == f"Boutique Laurier: return policy {ref} is reinstated"
    for part in (english.body, html(english)):
        assert "Hello Ana Roy," in part
        assert "is reinstated: it is active again" in part
        assert f"{BASE}/business/{suspended.account_id}/returns/{suspended.pk}/" in part
    for part in (french.body, html(french)):
        assert "Bonjour" in part and ref in part
        assert "Des questions sur la facturation\u00a0? Composez le 1 800 267-7651." in part


# --- the billing removal page -------------------------------------------------------------------


def test_the_card_removal_page_lists_the_policies_that_will_stop(
    client,
    account,
    reauth_bypass,  # noqa: F811
):
    card = CardFactory.create(account=account, is_default=True)
    stops = PolicyFactory.create(account=account, payment_method=card, name="Boutique returns")
    PolicyFactory.create(account=account, payment_method=card, name="Idle", status=Status.INACTIVE)
    already = PolicyFactory.create(
        account=account,
        payment_method=card,
        name="Already suspended",
        status=Status.SUSPENDED,
        suspended_because=Because.CHARGE_DECLINED,
    )
    PolicyFactory.create(account=account, name="Another card's")
    client.force_login(member(account, Right.VALIDATE))

    response = client.get(reverse("billing:remove_method", args=[account.pk, card.pk]))

    text = re.sub(r"\s+", " ", response.content.decode())
    assert response.status_code == 200
    assert "These rely on this payment method and will stop:" in text
    assert f"Return policy “Boutique returns” ({stops.reference})" in text
    assert "Return policy “Idle”" in text
    assert "Already suspended" not in text and "Another card" not in text
    assert already.reference not in " ".join(dependents_of(card))
