"""Return policies through their services and the validation queue: who may do what, the payment
that must exist first, the life cycle with its audit rows, the soft delete, and activation
prepared by a MANAGE user and approved by a validator."""

from typing import Any

import pytest

from accounts.exceptions import StaleRequest
from accounts.models import AuditEvent, BusinessAccount, Contract, Grant, Right, ValidationRequest
from accounts.services.requests import approve_request, submit
from billing.models import PaymentMethod
from outages.features import Feature
from outages.gate import FeatureClosed
from returns import actions
from returns.exceptions import (
    AlreadyInThatState,
    NotAllowed,
    NoUsablePayment,
    PolicyNotFound,
    PolicySuspended,
)
from returns.models import Channel, ReturnPolicy, ShippingService
from returns.services import policies
from returns.services.policies import PolicyData
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.factories import CardFactory
from tests.outages.factories import closing
from tests.returns.factories import (
    ContractPolicyFactory,
    LabelFactory,
    PolicyFactory,
    billed_to_account,
)

pytestmark = pytest.mark.django_db
IP = "198.51.100.9"
Event = AuditEvent.Event
Status = ReturnPolicy.Status


@pytest.fixture
def account() -> BusinessAccount:
    return BusinessAccountFactory.create(kind=BusinessAccount.Kind.SMALL_BUSINESS)


@pytest.fixture
def card(account: BusinessAccount) -> PaymentMethod:
    return CardFactory.create(account=account, is_default=True)


def user_with(account: BusinessAccount, right: Right | int) -> Any:
    return AccountLinkFactory.create(account=account, right=right).user


def contract_user(contract: Contract, right: Right) -> Any:
    """A user whose only grant is on `contract`."""
    link = AccountLinkFactory.create(account=contract.account, right=0)
    Grant.objects.create(link=link, contract=contract, level=right)
    return link.user


def data(**changes: Any) -> PolicyData:
    fields: dict[str, Any] = {
        "name": "Boutique returns",
        "channel": Channel.BOTH,
        "service": ShippingService.XPRESSPOST,
        "return_name": "Returns desk",
        "return_street": "200 Rideau Street",
        "return_city": "Ottawa",
        "return_province": "ON",
        "return_postal_code": "K1N 5Y1",
        "contract_id": None,
        "payment_method_id": None,
        "instructions": "Pack it well.",
        "return_window_days": 30,
    }
    return PolicyData(**{**fields, **changes})


def audit_trail(account: BusinessAccount) -> list[tuple[str, Any, str]]:
    return [
        (e.event, e.actor, e.details.get("policy", ""))
        for e in AuditEvent.objects.filter(account=account, event__startswith="policy_").order_by(
            "pk"
        )
    ]


# --- rights per action --------------------------------------------------------------------------


def test_manage_creates_an_inactive_policy_paid_by_the_card_and_audits_it(account, card):
    manager = user_with(account, Right.MANAGE)

    policy = policies.create_policy(
        actor=manager, account=account, data=data(payment_method_id=card.pk), ip=IP
    )

    assert (policy.status, policy.payment_method, policy.contract) == (Status.INACTIVE, card, None)
    assert (policy.created_by, policy.return_postal_code, policy.name) == (
        manager,
        "K1N 5Y1",
        "Boutique returns",
    )
    assert policy.reference == f"RP-{policy.pk:06d}"
    assert len(policy.link_token) >= 32
    event = AuditEvent.objects.get(event=Event.POLICY_CREATED)
    assert (event.actor, event.ip, event.details) == (
        manager,
        IP,
        {"policy": policy.reference, "name": "Boutique returns"},
    )


def test_consult_cannot_create_edit_or_act_on_a_policy(account, card):
    consultant = user_with(account, Right.CONSULT)
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)

    with pytest.raises(NotAllowed):
        policies.create_policy(
            actor=consultant, account=account, data=data(payment_method_id=card.pk), ip=IP
        )
    with pytest.raises(NotAllowed):
        policies.update_policy(
            actor=consultant,
            account=account,
            policy_id=policy.pk,
            data=data(payment_method_id=card.pk),
            ip=IP,
        )
    for service in (policies.activate_policy, policies.deactivate_policy, policies.delete_policy):
        with pytest.raises(NotAllowed):
            service(actor=consultant, account=account, policy_id=policy.pk, ip=IP)

    policy.refresh_from_db()
    assert (policy.status, policy.deleted_at, policy.name) == (Status.INACTIVE, None, policy.name)
    assert ReturnPolicy.objects.count() == 1
    assert audit_trail(account) == []


def test_manage_alone_cannot_activate_deactivate_or_delete_directly(account, card):
    manager = user_with(account, Right.MANAGE)
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)

    for service in (policies.activate_policy, policies.deactivate_policy, policies.delete_policy):
        with pytest.raises(NotAllowed):
            service(actor=manager, account=account, policy_id=policy.pk, ip=IP)

    policy.refresh_from_db()
    assert (policy.status, policy.deleted_at) == (Status.INACTIVE, None)


def test_a_policy_of_another_business_is_not_found(account, card):
    validator = user_with(account, Right.VALIDATE)
    theirs = PolicyFactory.create(status=Status.INACTIVE)

    with pytest.raises(PolicyNotFound):
        policies.activate_policy(actor=validator, account=account, policy_id=theirs.pk, ip=IP)
    with pytest.raises(PolicyNotFound):
        policies.update_policy(
            actor=validator,
            account=account,
            policy_id=theirs.pk,
            data=data(payment_method_id=card.pk),
            ip=IP,
        )
    # Naming the other business's card to pay is refused like having none.
    with pytest.raises(NoUsablePayment):
        policies.create_policy(
            actor=validator,
            account=account,
            data=data(payment_method_id=theirs.payment_method_id),
            ip=IP,
        )

    theirs.refresh_from_db()
    assert theirs.status == Status.INACTIVE


def test_a_contract_only_user_sees_only_the_policies_paid_by_their_contract():
    account = BusinessAccountFactory.create()
    theirs, other = ContractFactory.create(account=account), ContractFactory.create(account=account)
    mine = ContractPolicyFactory.create(account=account, contract=theirs, name="Mine")
    ContractPolicyFactory.create(account=account, contract=other, name="Other agreement")
    PolicyFactory.create(account=account, name="Card-paid")
    user = contract_user(theirs, Right.CONSULT)
    whole = user_with(account, Right.CONSULT)

    assert list(policies.policies_for(user, account)) == [mine]
    assert policies.policies_for(whole, account).count() == 3
    assert not policies.policies_for(user, account, Right.MANAGE).exists()


def test_a_contract_validator_acts_on_the_policies_of_their_contract_only():
    account = billed_to_account()
    theirs, other = ContractFactory.create(account=account), ContractFactory.create(account=account)
    mine = ContractPolicyFactory.create(account=account, contract=theirs, status=Status.INACTIVE)
    not_mine = ContractPolicyFactory.create(account=account, contract=other, status=Status.INACTIVE)
    validator = contract_user(theirs, Right.VALIDATE)

    policies.activate_policy(actor=validator, account=account, policy_id=mine.pk, ip=IP)
    with pytest.raises(NotAllowed):
        policies.activate_policy(actor=validator, account=account, policy_id=not_mine.pk, ip=IP)
    with pytest.raises(NotAllowed):  # moving a policy to an agreement they do not manage
        policies.update_policy(
            actor=validator,
            account=account,
            policy_id=mine.pk,
            data=data(contract_id=other.pk),
            ip=IP,
        )

    mine.refresh_from_db()
    not_mine.refresh_from_db()
    assert (mine.status, mine.contract, not_mine.status) == (Status.ACTIVE, theirs, Status.INACTIVE)


# --- the payment prerequisite -------------------------------------------------------------------


def test_without_a_card_or_agreement_no_policy_can_be_created(account):
    manager = user_with(account, Right.MANAGE)
    removed = CardFactory.create(account=account, status=PaymentMethod.Status.REMOVED)
    ended = ContractFactory.create(account=account, status=Contract.Status.EXPIRED)

    for payment in (
        {},
        {"payment_method_id": removed.pk},
        {"contract_id": ended.pk},
        {"payment_method_id": 999_999},
    ):
        with pytest.raises(NoUsablePayment):
            policies.create_policy(actor=manager, account=account, data=data(**payment), ip=IP)

    assert not ReturnPolicy.objects.exists()
    assert audit_trail(account) == []


def test_paying_both_ways_at_once_is_refused(account, card):
    manager = user_with(account, Right.MANAGE)
    contract = ContractFactory.create(account=account)

    with pytest.raises(NoUsablePayment):
        policies.create_policy(
            actor=manager,
            account=account,
            data=data(payment_method_id=card.pk, contract_id=contract.pk),
            ip=IP,
        )
    assert not ReturnPolicy.objects.exists()


def test_a_policy_whose_card_can_no_longer_pay_cannot_be_activated(account, card):
    validator = user_with(account, Right.VALIDATE)
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    PaymentMethod.objects.filter(pk=card.pk).update(
        status=PaymentMethod.Status.EXPIRED, is_default=False
    )

    with pytest.raises(NoUsablePayment):
        policies.activate_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)

    policy.refresh_from_db()
    assert policy.status == Status.INACTIVE
    assert audit_trail(account) == []


def test_a_commercial_account_pays_by_its_active_agreement():
    account = billed_to_account()
    contract = ContractFactory.create(account=account)
    validator = user_with(account, Right.VALIDATE)

    policy = policies.create_policy(
        actor=validator, account=account, data=data(contract_id=contract.pk), ip=IP
    )
    policies.activate_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)

    policy.refresh_from_db()
    assert (policy.contract, policy.payment_method, policy.status) == (
        contract,
        None,
        Status.ACTIVE,
    )


# --- the life cycle -----------------------------------------------------------------------------


def test_activate_deactivate_and_delete_each_write_their_audit_row(account, card):
    validator = user_with(account, Right.VALIDATE)
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    ref = policy.reference

    policies.activate_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)
    policy.refresh_from_db()
    assert policy.status == Status.ACTIVE and policy.issues_labels
    with pytest.raises(AlreadyInThatState):
        policies.activate_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)

    policies.deactivate_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)
    policy.refresh_from_db()
    assert policy.status == Status.INACTIVE and not policy.issues_labels
    with pytest.raises(AlreadyInThatState):
        policies.deactivate_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)

    policies.delete_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)

    assert audit_trail(account) == [
        (Event.POLICY_ACTIVATED, validator, ref),
        (Event.POLICY_DEACTIVATED, validator, ref),
        (Event.POLICY_DELETED, validator, ref),
    ]
    assert set(
        AuditEvent.objects.filter(event__startswith="policy_").values_list("ip", flat=True)
    ) == {IP}


def test_editing_changes_the_settings_and_keeps_the_status(account, card):
    manager = user_with(account, Right.MANAGE)
    other_card = CardFactory.create(account=account, last4="1881")
    policy = PolicyFactory.create(account=account, payment_method=card)

    policies.update_policy(
        actor=manager,
        account=account,
        policy_id=policy.pk,
        data=data(name="Winter returns", payment_method_id=other_card.pk, return_window_days=None),
        ip=IP,
    )

    policy.refresh_from_db()
    assert (policy.name, policy.payment_method, policy.return_window_days, policy.status) == (
        "Winter returns",
        other_card,
        None,
        Status.ACTIVE,
    )
    assert audit_trail(account) == [(Event.POLICY_CHANGED, manager, policy.reference)]


def test_a_suspended_policy_is_neither_activated_nor_deactivated_by_its_users(account, card):
    validator = user_with(account, Right.VALIDATE)
    policy = PolicyFactory.create(
        account=account,
        payment_method=card,
        status=Status.SUSPENDED,
        suspended_because=ReturnPolicy.SuspendedBecause.CARD_EXPIRED,
    )

    with pytest.raises(PolicySuspended):
        policies.activate_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)
    with pytest.raises(PolicySuspended):
        policies.deactivate_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)

    policy.refresh_from_db()
    assert policy.status == Status.SUSPENDED


def test_deleting_is_soft_keeps_the_token_and_leaves_labels_valid(account, card):
    validator = user_with(account, Right.VALIDATE)
    policy = PolicyFactory.create(account=account, payment_method=card)
    label = LabelFactory.create(policy=policy)
    token = policy.link_token

    policies.delete_policy(actor=validator, account=account, policy_id=policy.pk, ip=IP)

    kept = ReturnPolicy.objects.get(pk=policy.pk)
    assert kept.deleted_at is not None and kept.is_deleted and not kept.issues_labels
    assert kept.link_token == token  # the row stays, so the token is never given again
    assert not policies.policies_for(validator, account).exists()
    assert list(kept.labels.all()) == [label]
    for service in (policies.activate_policy, policies.deactivate_policy, policies.delete_policy):
        with pytest.raises(PolicyNotFound):
            service(actor=validator, account=account, policy_id=policy.pk, ip=IP)
    with pytest.raises(PolicyNotFound):
        policies.update_policy(
            actor=validator,
            account=account,
            policy_id=policy.pk,
            data=data(payment_method_id=card.pk),
            ip=IP,
        )


def test_every_change_is_refused_during_a_return_policies_window(account, card):
    validator = user_with(account, Right.VALIDATE)
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    closing(Feature.RETURN_POLICIES)

    with pytest.raises(FeatureClosed):
        policies.create_policy(
            actor=validator, account=account, data=data(payment_method_id=card.pk), ip=IP
        )
    for service in (policies.activate_policy, policies.deactivate_policy, policies.delete_policy):
        with pytest.raises(FeatureClosed):
            service(actor=validator, account=account, policy_id=policy.pk, ip=IP)

    policy.refresh_from_db()
    assert (policy.status, policy.deleted_at, ReturnPolicy.objects.count()) == (
        Status.INACTIVE,
        None,
        1,
    )


# --- the validation queue -----------------------------------------------------------------------


def prepare(actor: Any, account: BusinessAccount, kind: str, policy: ReturnPolicy) -> Any:
    return submit(
        actor=actor, account=account, kind=kind, payload=actions.policy_payload(policy), ip=IP
    )


def test_a_manager_prepares_an_activation_that_a_validator_approves(account, card):
    manager = user_with(account, Right.MANAGE)
    validator = user_with(account, Right.VALIDATE)
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)

    outcome = prepare(manager, account, actions.ACTIVATE, policy)

    assert outcome.queued and outcome.request is not None
    assert outcome.request.payload == {
        "policy": policy.pk,
        "reference": policy.reference,
        "name": policy.name,
    }
    policy.refresh_from_db()
    assert policy.status == Status.INACTIVE

    approved = approve_request(
        actor=validator, account=account, request_id=outcome.request.pk, ip=IP
    )

    policy.refresh_from_db()
    assert approved.state == ValidationRequest.State.APPROVED
    assert policy.status == Status.ACTIVE
    assert audit_trail(account) == [(Event.POLICY_ACTIVATED, validator, policy.reference)]


def test_a_validator_acts_at_once_through_the_same_call(account, card):
    validator = user_with(account, Right.VALIDATE)
    policy = PolicyFactory.create(account=account, payment_method=card)

    outcome = prepare(validator, account, actions.DEACTIVATE, policy)

    assert not outcome.queued and outcome.result == {"policy": policy.pk}
    policy.refresh_from_db()
    assert policy.status == Status.INACTIVE
    assert not ValidationRequest.objects.exists()


def test_a_request_whose_policy_was_edited_since_is_refused_as_stale(account, card):
    manager = user_with(account, Right.MANAGE)
    validator = user_with(account, Right.VALIDATE)
    policy = PolicyFactory.create(account=account, payment_method=card, status=Status.INACTIVE)
    request = prepare(manager, account, actions.ACTIVATE, policy).request

    policies.update_policy(
        actor=manager,
        account=account,
        policy_id=policy.pk,
        data=data(name="Renamed", payment_method_id=card.pk),
        ip=IP,
    )
    with pytest.raises(StaleRequest):
        approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    request.refresh_from_db()
    policy.refresh_from_db()
    assert request.state == ValidationRequest.State.STALE
    assert policy.status == Status.INACTIVE


def test_a_request_for_a_deletion_soft_deletes_once_approved(account, card):
    manager = user_with(account, Right.MANAGE)
    validator = user_with(account, Right.VALIDATE)
    policy = PolicyFactory.create(account=account, payment_method=card)
    request = prepare(manager, account, actions.DELETE, policy).request

    approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    policy.refresh_from_db()
    assert policy.is_deleted
    assert audit_trail(account)[-1] == (Event.POLICY_DELETED, validator, policy.reference)


def test_an_activation_that_could_never_apply_is_not_queued(account, card):
    manager = user_with(account, Right.MANAGE)
    active = PolicyFactory.create(account=account, payment_method=card)
    expired = CardFactory.create(account=account, status=PaymentMethod.Status.EXPIRED)
    unpaid = PolicyFactory.create(account=account, payment_method=expired, status=Status.INACTIVE)
    suspended = PolicyFactory.create(
        account=account,
        payment_method=card,
        status=Status.SUSPENDED,
        suspended_because=ReturnPolicy.SuspendedBecause.CHARGE_DECLINED,
    )

    with pytest.raises(AlreadyInThatState):
        prepare(manager, account, actions.ACTIVATE, active)
    with pytest.raises(NoUsablePayment):
        prepare(manager, account, actions.ACTIVATE, unpaid)
    with pytest.raises(PolicySuspended):
        prepare(manager, account, actions.DEACTIVATE, suspended)

    assert not ValidationRequest.objects.exists()


def test_a_contract_manager_prepares_and_a_contract_validator_approves():
    account = billed_to_account()
    contract = ContractFactory.create(account=account)
    policy = ContractPolicyFactory.create(
        account=account, contract=contract, status=Status.INACTIVE
    )
    manager = contract_user(contract, Right.MANAGE)
    validator = contract_user(contract, Right.VALIDATE)

    request = prepare(manager, account, actions.ACTIVATE, policy).request
    approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    policy.refresh_from_db()
    assert policy.status == Status.ACTIVE
