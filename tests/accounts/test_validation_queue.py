"""The validation queue: a preparer (MANAGE) prepares, a validator (VALIDATE) approves or
rejects; approval runs the same service, a changed target makes a request stale, nobody decides
their own request, and other apps register their actions in the same registry."""

import pytest
from django.core import mail

from accounts import actions, rights, services, validation
from accounts.exceptions import NotAllowed, OwnRequest, RequestNotPending, StaleRequest
from accounts.models import AccountLink, AuditEvent, PreRegistration, ValidationRequest
from accounts.rights import Right
from accounts.rightsets import RightSet
from outages.features import Feature
from tests.accounts.delegation_factories import PreRegistrationFactory, administrator
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory

pytestmark = pytest.mark.django_db
IP = "198.51.100.9"
State = ValidationRequest.State


@pytest.fixture
def account():
    return BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")


@pytest.fixture
def preparer(account):
    return administrator(account, level=Right.MANAGE, email="prep@boreal.example").user


@pytest.fixture
def validator(account):
    return administrator(account, level=Right.VALIDATE, email="val@boreal.example").user


@pytest.fixture
def person(account):
    return PreRegistrationFactory.create(account=account, email="nadia@boreal.example")


def add_payload(person, level=Right.MANAGE):
    return actions.add_user_payload(
        person=person, email=person.email, language="en", chosen=RightSet({None: level})
    )


def submit(actor, account, kind, payload):
    return services.submit(actor=actor, account=account, kind=kind, payload=payload, ip=IP)


def test_a_preparer_prepares_and_the_validators_are_told(
    preparer, validator, account, person, django_capture_on_commit_callbacks
):
    AccountLinkFactory.create(account=account, right=Right.VALIDATE)  # not an administrator

    with django_capture_on_commit_callbacks(execute=True):
        outcome = submit(preparer, account, actions.ADD_USER, add_payload(person))

    assert outcome.queued
    request = outcome.request
    assert (request.state, request.prepared_by, request.kind) == (
        State.PENDING,
        preparer,
        actions.ADD_USER,
    )
    assert request.payload["email"] == "nadia@boreal.example"
    assert request.payload["rights"] == {"account": 20, "contracts": {}}
    assert not PreRegistration.objects.filter(used_at__isnull=False).exists()  # nothing done yet
    assert [m.to for m in mail.outbox] == [["val@boreal.example"]]  # administrators who validate
    assert "Add a user" in mail.outbox[0].body
    assert AuditEvent.objects.filter(event=AuditEvent.Event.VALIDATION_REQUESTED).count() == 1


def test_a_validator_acts_directly(validator, account, person):
    outcome = submit(validator, account, actions.ADD_USER, add_payload(person))

    assert not outcome.queued
    assert AccountLink.objects.filter(pk=outcome.result["link"]).exists()
    assert not ValidationRequest.objects.exists()


def test_approving_runs_the_same_service_and_tells_the_preparer(
    preparer, validator, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    request = submit(preparer, account, actions.ADD_USER, add_payload(person)).request
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    request.refresh_from_db()
    assert (request.state, request.decided_by) == (State.APPROVED, validator)
    link = AccountLink.objects.get(pk=request.result["link"])
    assert (link.user.email, link.created_by) == ("nadia@boreal.example", validator)
    assert rights.can(link.user, Right.MANAGE, account)
    added = AuditEvent.objects.get(event=AuditEvent.Event.USER_ADDED)
    assert added.actor == validator  # the same service, acting as the validator
    assert sorted(m.to[0] for m in mail.outbox) == ["nadia@boreal.example", "prep@boreal.example"]
    [told] = [m for m in mail.outbox if m.to == ["prep@boreal.example"]]
    assert "approved your request" in told.body
    assert len(sms_outbox) == 1


def test_rejecting_keeps_the_reason_and_tells_the_preparer(
    preparer, validator, account, person, django_capture_on_commit_callbacks
):
    request = submit(preparer, account, actions.ADD_USER, add_payload(person)).request
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.reject_request(
            actor=validator, account=account, request_id=request.pk, reason="Not yet hired.", ip=IP
        )

    request.refresh_from_db()
    assert (request.state, request.reason) == (State.REJECTED, "Not yet hired.")
    assert not AccountLink.objects.filter(user__email="nadia@boreal.example").exists()
    [told] = mail.outbox
    assert told.to == ["prep@boreal.example"]
    assert "Reason: Not yet hired." in told.body
    with pytest.raises(RequestNotPending):
        services.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)


def test_a_request_whose_target_changed_is_refused_as_stale(
    preparer, validator, account, django_capture_on_commit_callbacks
):
    target = AccountLinkFactory.create(account=account, right=Right.CONSULT)
    payload = actions.change_rights_payload(link=target, chosen=RightSet({None: Right.MANAGE}))
    request = submit(preparer, account, actions.CHANGE_RIGHTS, payload).request
    # Meanwhile a validator changes the same user's rights directly.
    services.change_rights(
        actor=validator,
        account=account,
        link_id=target.pk,
        chosen=RightSet({None: Right.VALIDATE}),
        ip=IP,
    )
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(StaleRequest):
        services.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    request.refresh_from_db()
    assert request.state == State.STALE
    assert rights.of_user(target.user, account).whole == Right.VALIDATE  # not applied stale
    assert AuditEvent.objects.filter(event=AuditEvent.Event.VALIDATION_STALE).count() == 1
    assert [m.to for m in mail.outbox] == [["prep@boreal.example"]]


def test_a_pre_registration_used_meanwhile_makes_the_request_stale(
    preparer, validator, account, person
):
    request = submit(preparer, account, actions.ADD_USER, add_payload(person)).request
    submit(validator, account, actions.ADD_USER, add_payload(person))  # added directly meanwhile

    with pytest.raises(StaleRequest):
        services.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)
    assert AccountLink.objects.filter(user__email="nadia@boreal.example").count() == 1


def test_a_preparer_cannot_approve_their_own_request(account, person):
    both = administrator(account, level=Right.MANAGE).user
    request = submit(both, account, actions.ADD_USER, add_payload(person)).request
    # Even once they hold VALIDATE, the request they prepared needs another person.
    AccountLink.objects.get(user=both).grants.update(level=Right.VALIDATE)

    with pytest.raises(OwnRequest):
        services.approve_request(actor=both, account=account, request_id=request.pk, ip=IP)
    with pytest.raises(OwnRequest):
        services.reject_request(
            actor=both, account=account, request_id=request.pk, reason="no", ip=IP
        )
    request.refresh_from_db()
    assert request.state == State.PENDING


def test_only_a_validator_may_decide(preparer, account, person):
    request = submit(preparer, account, actions.ADD_USER, add_payload(person)).request
    other_preparer = administrator(account, level=Right.MANAGE).user
    plain_validator = AccountLinkFactory.create(account=account, right=Right.VALIDATE).user

    for actor in (other_preparer, plain_validator):
        with pytest.raises(NotAllowed):
            services.approve_request(actor=actor, account=account, request_id=request.pk, ip=IP)


def test_a_request_of_another_business_is_not_decided_here(preparer, validator, person, account):
    request = submit(preparer, account, actions.ADD_USER, add_payload(person)).request
    other = BusinessAccountFactory.create()
    other_validator = administrator(other).user

    with pytest.raises(RequestNotPending):
        services.approve_request(actor=other_validator, account=other, request_id=request.pk, ip=IP)


def test_someone_with_consult_cannot_even_prepare(account, person):
    consultant = administrator(account, level=Right.CONSULT).user

    with pytest.raises(NotAllowed):
        submit(consultant, account, actions.ADD_USER, add_payload(person, Right.CONSULT))


def test_removal_goes_through_the_queue_too(preparer, validator, account):
    target = AccountLinkFactory.create(account=account)
    request = submit(
        preparer, account, actions.REMOVE_USER, actions.remove_user_payload(link=target)
    ).request

    services.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    target.refresh_from_db()
    assert target.status == AccountLink.Status.REMOVED


def test_other_apps_register_their_actions(account, validator, preparer):
    done: list[dict] = []

    def pay(*, actor, account, payload, ip):
        done.append(payload)
        return {"paid": True}

    action = validation.Action(
        kind="tests.pay_invoice",
        label="Pay an invoice",
        feature=Feature.ONLINE_PAYMENT,
        perform=pay,
        fingerprint=lambda account, payload: validation.fingerprint_of(payload["invoice"]),
    )
    validation.register(action)
    try:
        assert validation.action_for("tests.pay_invoice") is action
        with pytest.raises(ValueError, match="already registered"):
            validation.register(
                validation.Action(
                    kind="tests.pay_invoice",
                    label="x",
                    feature=Feature.ONLINE_PAYMENT,
                    perform=pay,
                    fingerprint=lambda a, p: "",
                )
            )
        queued = submit(preparer, account, "tests.pay_invoice", {"invoice": 7})
        services.approve_request(
            actor=validator, account=account, request_id=queued.request.pk, ip=IP
        )
    finally:
        validation._registry.pop("tests.pay_invoice")
    assert done == [{"invoice": 7}]
    with pytest.raises(validation.UnknownAction):
        validation.action_for("tests.pay_invoice")


@pytest.mark.parametrize("count", [1, 30])
def test_the_to_validate_page_does_not_grow_with_requests(
    client, preparer, validator, account, count, django_assert_num_queries
):
    from django.urls import reverse

    from accounts.views.validations import PENDING_PAGE_SIZE
    from outages import gate

    for _ in range(count):
        person = PreRegistrationFactory.create(account=account)
        submit(preparer, account, actions.ADD_USER, add_payload(person))
    client.force_login(validator)
    gate.snapshot()
    url = reverse("accounts:to_validate", args=[account.pk])

    # session, user, the account, the pending requests' count and a page of them, the rights
    # summary, recent decisions
    with django_assert_num_queries(7):
        response = client.get(url)

    assert len(response.context["to_decide"]) == min(count, PENDING_PAGE_SIZE)
    if count > PENDING_PAGE_SIZE:
        assert "Page 1 of 2" in response.content.decode()
        rest = client.get(url, {"page": 2}).context["to_decide"]
        assert len(rest) == count - PENDING_PAGE_SIZE
        seen = {r.pk for r in response.context["to_decide"]} | {r.pk for r in rest}
        assert len(seen) == count  # every pending request on one page or the other
