"""The validation queue asks each action's own gate feature: a delegated-users window does not
hold up another app's action, a closed feature refuses preparing, approving and rejecting its
requests (503 on the pages), the queue stays readable with its buttons disabled, and the
queue's e-mails carry the feature the outbox waits for."""

from collections.abc import Iterator

import pytest
from django.urls import reverse

from accounts import actions, services, validation
from accounts.models import ValidationRequest
from accounts.rights import Right
from accounts.rightsets import RightSet
from outages.features import Feature
from outages.gate import FeatureClosed
from portal.models import Delivery
from tests.accounts.delegation_factories import (
    PreRegistrationFactory,
    administrator,
    with_totp,
)
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory

pytestmark = pytest.mark.django_db
IP = "198.51.100.21"
PAY = "tests.pay_invoice"
State = ValidationRequest.State


@pytest.fixture
def paid() -> Iterator[list[dict]]:
    """An invoice payment as billing would register it: gated on ONLINE_PAYMENT."""
    done: list[dict] = []

    def pay(*, actor, account, payload, ip):
        done.append(dict(payload))
        return {"paid": payload["invoice"]}

    validation.register(
        validation.Action(
            kind=PAY,
            label="Pay an invoice",
            feature=Feature.ONLINE_PAYMENT,
            perform=pay,
            fingerprint=lambda account, payload: validation.fingerprint_of(payload["invoice"]),
        )
    )
    yield done
    validation._registry.pop(PAY)


@pytest.fixture
def account():
    return BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")


@pytest.fixture
def preparer(account):
    return AccountLinkFactory.create(account=account, right=Right.MANAGE).user


@pytest.fixture
def validator(account):
    return AccountLinkFactory.create(account=account, right=Right.VALIDATE).user


def prepare(preparer, account, invoice=7):
    outcome = services.submit(
        actor=preparer, account=account, kind=PAY, payload={"invoice": invoice}, ip=IP
    )
    assert outcome.queued
    return outcome.request


@pytest.fixture
def close(close_feature, django_capture_on_commit_callbacks):
    """Close features as staff would: the gate hears of it on commit, in this process too."""

    def closing(*features):
        with django_capture_on_commit_callbacks(execute=True):
            return close_feature(*features)

    return closing


def detail_url(account, request):
    return reverse("accounts:request_detail", args=[account.pk, request.pk])


def approve_url(account, request):
    return reverse("accounts:approve_request", args=[account.pk, request.pk])


def reject_url(account, request):
    return reverse("accounts:reject_request", args=[account.pk, request.pk])


# --- a delegated-users window holds up delegated users only ---------------------------------------


def test_a_delegated_users_window_does_not_block_another_features_action(
    paid, preparer, validator, account, close
):
    close(Feature.DELEGATED_USERS)

    request = prepare(preparer, account)
    services.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    request.refresh_from_db()
    assert request.state == State.APPROVED
    assert paid == [{"invoice": 7}]


def test_a_delegated_users_window_does_not_block_rejecting_another_features_action(
    paid, preparer, validator, account, close
):
    request = prepare(preparer, account)
    close(Feature.DELEGATED_USERS)

    services.reject_request(
        actor=validator, account=account, request_id=request.pk, reason="Wrong amount.", ip=IP
    )

    request.refresh_from_db()
    assert request.state == State.REJECTED


def test_approving_on_the_page_during_a_delegated_users_window(
    client, paid, preparer, validator, account, close
):
    request = prepare(preparer, account)
    mfa = with_totp(validator)
    client.force_login(validator)
    client.post(reverse("mfa_reauthenticate"), {"code": mfa.code()})
    close(Feature.DELEGATED_USERS)

    assert client.get(reverse("accounts:to_validate", args=[account.pk])).status_code == 200
    detail = client.get(detail_url(account, request))
    assert detail.status_code == 200
    assert "decision-closed" not in detail.content.decode()
    response = client.post(approve_url(account, request))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:to_validate", args=[account.pk])
    request.refresh_from_db()
    assert request.state == State.APPROVED
    assert paid == [{"invoice": 7}]


def test_the_delegated_users_actions_still_belong_to_delegated_users(account, close):
    preparer = administrator(account, level=Right.MANAGE).user
    person = PreRegistrationFactory.create(account=account)
    payload = actions.add_user_payload(
        person=person, email=person.email, language="en", chosen=RightSet({None: Right.CONSULT})
    )
    assert {
        action.feature for action in validation.registered() if action.kind.startswith("accounts.")
    } == {Feature.DELEGATED_USERS}
    close(Feature.DELEGATED_USERS)

    with pytest.raises(FeatureClosed):
        services.submit(
            actor=preparer, account=account, kind=actions.ADD_USER, payload=payload, ip=IP
        )
    assert not ValidationRequest.objects.exists()


# --- the action's own feature closed --------------------------------------------------------------


def test_a_closed_feature_refuses_preparing_its_action(paid, preparer, account, close):
    close(Feature.ONLINE_PAYMENT)

    with pytest.raises(FeatureClosed) as closed:
        services.prepare_request(
            actor=preparer, account=account, kind=PAY, payload={"invoice": 7}, ip=IP
        )

    assert closed.value.closure.feature == Feature.ONLINE_PAYMENT
    assert not ValidationRequest.objects.exists()
    assert not Delivery.objects.exists()


def test_a_closed_feature_refuses_approving_and_rejecting_its_action(
    paid, preparer, validator, account, close
):
    request = prepare(preparer, account)
    close(Feature.ONLINE_PAYMENT)

    with pytest.raises(FeatureClosed):
        services.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)
    with pytest.raises(FeatureClosed):
        services.reject_request(
            actor=validator, account=account, request_id=request.pk, reason="No.", ip=IP
        )

    request.refresh_from_db()
    assert request.state == State.PENDING
    assert paid == []


def test_the_pages_answer_503_for_a_closed_action_and_show_its_buttons_disabled(
    client, paid, preparer, validator, account, close
):
    request = prepare(preparer, account)
    close(Feature.ONLINE_PAYMENT)
    client.force_login(validator)  # no fresh second factor: the gate answers first

    listing = client.get(reverse("accounts:to_validate", args=[account.pk]))
    detail = client.get(detail_url(account, request))
    approving = client.post(approve_url(account, request))
    rejecting = client.post(reject_url(account, request), {"reason": "Wrong amount."})

    assert listing.status_code == 200
    assert [r.pk for r in listing.context["to_decide"]] == [request.pk]
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "Online payment is unavailable" in page
    assert page.count('disabled aria-describedby="decision-closed"') == 2  # approve and reject
    for response in (approving, rejecting):
        assert response.status_code == 503
        assert int(response["Retry-After"]) > 0
        assert b"Temporarily unavailable for maintenance" in response.content
    request.refresh_from_db()
    assert request.state == State.PENDING
    assert paid == []


# --- the e-mails carry the feature ----------------------------------------------------------------


def test_the_queues_emails_carry_the_actions_feature(
    paid, preparer, validator, account, django_capture_on_commit_callbacks
):
    request = prepare(preparer, account)
    services.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    facts = {d.kind: d.facts for d in Delivery.objects.filter(kind__startswith="accounts.")}
    assert facts["accounts.validation_requested"]["feature"] == "online_payment"
    assert facts["accounts.validation_decided"]["feature"] == "online_payment"
