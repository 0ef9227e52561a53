"""Tracking events stored once, applied to their labels in order, charged at the first drop-off,
held during a tracking-ingestion maintenance window and applied when it ends."""

import datetime
import logging

import pytest
import time_machine

from accounts.rights import Right
from billing.gateway import Refusal
from billing.models import BillingProfile, Charge
from outages import gate
from portal.models import Delivery
from returns import notifications, tasks
from returns.models import ReturnPolicy, TrackingEvent
from returns.services.policies import reinstate_policy
from returns.services.tracking import Result, apply_pending_events, record_tracking_events
from tests.accounts.factories import ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing import fakes
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import UserFactory
from tests.outages.factories import closing
from tests.returns.factories import (
    ContractPolicyFactory,
    EventFactory,
    LabelFactory,
    RecipientFactory,
    tracking_number,
)
from tests.returns.tracking_factories import event_data
from tests.row_locks import row_locks

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 10, 9, 12, 0, tzinfo=datetime.UTC)
T0 = datetime.datetime(2026, 10, 5, 14, 30, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _frozen() -> object:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def gateway(settings: object) -> type[fakes.FakeGateway]:
    return fakes.install(settings)


def ingest(events: list[dict]) -> list[Result]:
    results = record_tracking_events(events)
    assert not [result for result in results if result.is_error]
    apply_pending_events()
    return results


# --- storing --------------------------------------------------------------------------------


def test_a_valid_event_is_stored_with_its_label_and_account_and_not_yet_applied():
    label = LabelFactory()
    [result] = record_tracking_events([event_data(label, "ACCEPTED", T0, "Ottawa PO 12")])
    assert result == Result("ok")
    event = TrackingEvent.objects.get()
    assert (event.label, event.account, event.kind) == (label, label.account, "ACCEPTED")
    assert (event.occurred_at, event.place, event.applied_at) == (T0, "Ottawa PO 12", None)


def test_the_same_event_twice_is_stored_once_and_reported_as_a_duplicate():
    label = LabelFactory()
    first = record_tracking_events([event_data(label, "ACCEPTED", T0)])
    # Again, once in another time zone's notation of the same moment, and twice in one batch.
    again = record_tracking_events(
        [
            event_data(label, "ACCEPTED", "2026-10-05T10:30:00-04:00"),
            event_data(label, "IN_TRANSIT", T0 + HOUR),
            event_data(label, "IN_TRANSIT", T0 + HOUR),
        ]
    )
    assert [r.status for r in first + again] == ["ok", "duplicate", "ok", "duplicate"]
    assert TrackingEvent.objects.count() == 2


def test_numbers_and_kinds_are_read_regardless_of_case_and_spaces():
    label = LabelFactory()
    [result] = record_tracking_events(
        [event_data(f"  {label.tracking_number.lower()} ", " in_transit ", T0)]
    )
    assert result.status == "ok"
    assert TrackingEvent.objects.get().kind == TrackingEvent.Kind.IN_TRANSIT


def _broken_check_digit(number: str) -> str:
    return number[:10] + str((int(number[10]) + 1) % 10) + "CA"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda e: {**e, "tracking_number": _broken_check_digit(e["tracking_number"])},
            "invalid_tracking_number",
        ),
        (lambda e: {**e, "tracking_number": "RR12345678CA"}, "invalid_tracking_number"),
        (
            lambda e: {**e, "tracking_number": tracking_number(99_999_999)},
            "unknown_tracking_number",
        ),
        (
            lambda e: {k: v for k, v in e.items() if k != "tracking_number"},
            "missing_tracking_number",
        ),
        (lambda e: {**e, "kind": "LOST"}, "invalid_kind"),
        (lambda e: {**e, "kind": 3}, "invalid_kind"),
        (lambda e: {**e, "occurred_at": "2026-10-05T14:30:00"}, "invalid_occurred_at"),
        (lambda e: {**e, "occurred_at": "2026-10-05"}, "invalid_occurred_at"),
        (lambda e: {**e, "occurred_at": "yesterday"}, "invalid_occurred_at"),
        (lambda e: {**e, "occurred_at": 1_790_000_000}, "invalid_occurred_at"),
        (lambda e: {**e, "occurred_at": "2026-10-09T12:05:01+00:00"}, "occurred_at_in_future"),
        (lambda e: {**e, "place": "x" * 101}, "place_too_long"),
        (lambda e: {**e, "place": ["Ottawa"]}, "invalid_place"),
        (lambda e: [e], "malformed_event"),
    ],
)
def test_each_bad_event_gets_its_own_error_and_the_good_ones_are_stored(change, code):
    label = LabelFactory()
    good = event_data(label, "ACCEPTED", T0)
    results = record_tracking_events([good, change(event_data(label, "IN_TRANSIT", T0 + HOUR))])
    assert results[0] == Result("ok")
    assert results[1].status == "error" and results[1].code == code
    assert results[1].message  # a sentence a person reads
    assert list(TrackingEvent.objects.values_list("kind", flat=True)) == ["ACCEPTED"]


def test_a_place_of_exactly_100_characters_and_no_place_at_all_are_accepted():
    label = LabelFactory()
    events = [event_data(label, "ACCEPTED", T0, "p" * 100), event_data(label, "IN_TRANSIT", T0)]
    del events[1]["place"]
    assert [r.status for r in record_tracking_events(events)] == ["ok", "ok"]


# --- applying: state, moments, charge -------------------------------------------------------


def test_events_move_the_label_forward_and_delivered_is_final(gateway):
    label = LabelFactory()
    steps = [
        ("ACCEPTED", "ACCEPTED"),
        ("IN_TRANSIT", "IN_TRANSIT"),
        ("EXCEPTION", "EXCEPTION"),
        ("IN_TRANSIT", "IN_TRANSIT"),  # moving again after an exception
        ("DELIVERED", "DELIVERED"),
        ("IN_TRANSIT", "DELIVERED"),  # a late scan never takes it back
        ("EXCEPTION", "DELIVERED"),
    ]
    for hours, (kind, state) in enumerate(steps):
        ingest([event_data(label, kind, T0 + hours * HOUR)])
        label.refresh_from_db()
        assert label.state == state, kind
    assert label.accepted_at == T0 and label.delivered_at == T0 + 4 * HOUR
    assert not TrackingEvent.objects.filter(applied_at__isnull=True).exists()


def test_events_of_one_batch_are_applied_in_the_order_they_happened(gateway):
    label = LabelFactory()
    ingest(
        [
            event_data(label, "IN_TRANSIT", T0 + 3 * HOUR),
            event_data(label, "EXCEPTION", T0 + 2 * HOUR),
            event_data(label, "ACCEPTED", T0),
        ]
    )
    label.refresh_from_db()
    assert (label.state, label.accepted_at) == ("IN_TRANSIT", T0)


def test_an_older_exception_arriving_late_does_not_override_a_newer_transit_scan(gateway):
    label = LabelFactory()
    ingest([event_data(label, "ACCEPTED", T0), event_data(label, "IN_TRANSIT", T0 + 3 * HOUR)])
    ingest([event_data(label, "EXCEPTION", T0 + 2 * HOUR)])
    label.refresh_from_db()
    assert label.state == "IN_TRANSIT"


def test_an_earlier_drop_off_arriving_late_becomes_the_label_s_drop_off_moment(gateway):
    label = LabelFactory()
    ingest([event_data(label, "ACCEPTED", T0 + 30 * HOUR)])
    ingest([event_data(label, "ACCEPTED", T0)])
    label.refresh_from_db()
    assert label.accepted_at == T0
    assert len(gateway.charges) == 1


def test_the_first_drop_off_charges_the_card_once_and_later_events_do_not(gateway):
    label = LabelFactory()
    ingest([event_data(label, "ACCEPTED", T0)])
    label.refresh_from_db()
    assert label.charged_at == NOW and not label.charge_owed
    assert len(gateway.charges) == 1
    ingest(
        [
            event_data(label, "ACCEPTED", T0 + HOUR),  # a second drop-off scan
            event_data(label, "IN_TRANSIT", T0 + 2 * HOUR),
            event_data(label, "DELIVERED", T0 + 30 * HOUR),
        ]
    )
    assert len(gateway.charges) == 1
    charge = Charge.objects.get()
    assert charge.source_reference == f"label:{label.tracking_number}"
    assert charge.kind == Charge.Kind.RETURN_LABEL  # summed as such on the invoice's PDF
    assert charge.status == Charge.Status.PAID


def test_the_same_drop_off_received_twice_is_stored_once_and_charged_once(gateway):
    label = LabelFactory()
    assert ingest([event_data(label, "ACCEPTED", T0)])[0].status == "ok"
    assert ingest([event_data(label, "ACCEPTED", T0)])[0].status == "duplicate"
    assert TrackingEvent.objects.count() == 1
    assert len(gateway.charges) == 1 and Charge.objects.count() == 1


def test_no_event_but_a_drop_off_charges_the_label(gateway):
    label = LabelFactory()
    ingest([event_data(label, "IN_TRANSIT", T0), event_data(label, "DELIVERED", T0 + HOUR)])
    label.refresh_from_db()
    assert label.state == "DELIVERED" and label.charged_at is None
    assert gateway.charges == []


def test_a_policy_paid_by_agreement_charges_to_the_next_invoice():
    policy = ContractPolicyFactory()
    BillingProfileFactory(account=policy.account, terms_days=30)
    label = LabelFactory(policy=policy)
    ingest([event_data(label, "ACCEPTED", T0)])
    charge = Charge.objects.get()
    assert (charge.account, charge.status) == (policy.account, Charge.Status.AWAITING_INVOICE)
    assert charge.charged_at == T0  # the drop-off's moment, for the month's invoice


def test_a_card_policy_of_an_account_billed_to_account_charges_its_card_at_once(gateway):
    """The policy names how its returns are paid: its card, not the account's invoice."""
    label = LabelFactory()
    BillingProfileFactory(account=label.account, terms_days=30)
    ContractFactory(account=label.account)  # billed to account on terms, all the same

    ingest([event_data(label, "ACCEPTED", T0)])

    card = label.policy.payment_method
    assert card is not None
    charge = Charge.objects.get()
    assert (charge.status, charge.payment_method) == (Charge.Status.PAID, card)
    assert [taken.gateway_id for taken in gateway.charges] == [card.gateway_id]


def test_an_agreement_that_no_longer_bills_to_account_suspends_its_policy_and_owes_the_charge(
    gateway,
):
    """Staff took the terms away: the agreement's charges have no invoice to wait for. The
    account's card is not charged instead: the policy is suspended, the charge is owed."""
    policy = ContractPolicyFactory()
    BillingProfile.objects.filter(account=policy.account).update(terms_days=None)
    CardFactory(account=policy.account, is_default=True)
    label = LabelFactory(policy=policy)

    ingest([event_data(label, "ACCEPTED", T0)])

    label.refresh_from_db()
    policy.refresh_from_db()
    assert (policy.status, policy.suspended_because) == (
        ReturnPolicy.Status.SUSPENDED,
        ReturnPolicy.SuspendedBecause.AGREEMENT_ENDED,
    )
    assert label.charge_owed and not Charge.objects.exists() and gateway.charges == []


def test_a_declined_charge_tells_the_policys_managers_by_email(gateway):
    label = LabelFactory()
    AccountLinkFactory(
        account=label.account, right=Right.MANAGE, user=UserFactory(email="man@shop.example")
    )
    AccountLinkFactory(
        account=label.account, right=Right.CONSULT, user=UserFactory(email="reader@shop.example")
    )
    gateway.next_outcome = Refusal.DECLINED

    ingest([event_data(label, "ACCEPTED", T0)])

    told = Delivery.objects.filter(kind="returns.policy_suspended")
    assert list(told.values_list("address", flat=True)) == ["man@shop.example"]


def test_a_declined_card_suspends_the_policy_leaves_the_charge_owed_and_reinstatement_pays(
    gateway, django_capture_on_commit_callbacks
):
    label = LabelFactory()
    gateway.next_outcome = Refusal.INSUFFICIENT_FUNDS
    ingest([event_data(label, "ACCEPTED", T0)])
    label.refresh_from_db()
    policy = ReturnPolicy.objects.get(pk=label.policy_id)
    # The event is applied all the same: the parcel is on its way.
    assert label.state == "ACCEPTED" and TrackingEvent.objects.get().applied_at == NOW
    assert label.charge_owed and label.charged_at is None
    assert policy.status == ReturnPolicy.Status.SUSPENDED
    assert policy.suspended_because == ReturnPolicy.SuspendedBecause.CHARGE_DECLINED
    assert gateway.charges == []
    # Later events of the label do not try again; reinstatement does.
    ingest([event_data(label, "IN_TRANSIT", T0 + HOUR)])
    assert gateway.charges == []
    reinstate_policy(staff=UserFactory(is_staff=True), policy_id=policy.pk)
    label.refresh_from_db()
    assert label.charged_at is not None and not label.charge_owed
    assert len(gateway.charges) == 1


# --- the maintenance window -----------------------------------------------------------------


def test_during_a_tracking_ingestion_window_events_are_stored_not_applied_then_applied_after(
    gateway, _frozen
):
    label = LabelFactory()
    window = closing("tracking_ingestion", starts_at=NOW - HOUR, ends_at=NOW + HOUR)
    results = record_tracking_events([event_data(label, "ACCEPTED", T0)])
    assert results[0].status == "ok"
    assert tasks.apply_pending_events.delay().get() == 0
    label.refresh_from_db()
    assert (label.state, label.charged_at) == ("ISSUED", None)
    assert TrackingEvent.objects.get().applied_at is None

    _frozen.move_to(window.ends_at + datetime.timedelta(seconds=1))
    gate.forget_process_copy()  # as the next beat run, in a worker process, would find it
    assert tasks.apply_pending_events.delay().get() == 1
    label.refresh_from_db()
    assert (label.state, label.accepted_at) == ("ACCEPTED", T0)
    assert len(gateway.charges) == 1
    assert TrackingEvent.objects.get().applied_at is not None


def test_a_window_closing_other_features_does_not_hold_events_back(gateway):
    label = LabelFactory()
    closing("return_labels", "sign_in")
    ingest([event_data(label, "ACCEPTED", T0)])
    label.refresh_from_db()
    assert label.state == "ACCEPTED"


# --- robustness -----------------------------------------------------------------------------


def test_each_label_is_locked_alone_and_skipped_when_another_run_holds_it(gateway):
    EventFactory(occurred_at=T0)
    with row_locks() as clauses:
        apply_pending_events()
    assert clauses[0].startswith('FOR UPDATE OF "returns_returnlabel" SKIP LOCKED')


def test_a_label_whose_events_fail_keeps_them_for_the_next_run_and_the_others_go_on(
    gateway, monkeypatch, caplog
):
    broken, fine = LabelFactory(), LabelFactory()
    real = notifications.queue_event_notices

    def failing(event):
        if event.label_id == broken.pk:
            raise RuntimeError("boom")
        return real(event)

    monkeypatch.setattr("returns.notifications.queue_event_notices", failing)
    record_tracking_events([event_data(broken, "ACCEPTED", T0), event_data(fine, "ACCEPTED", T0)])
    with caplog.at_level(logging.ERROR, logger="returns.services.tracking"):
        assert apply_pending_events() == 1
    assert f"label {broken.pk}" in caplog.text
    broken.refresh_from_db()
    # Nothing of the failed label's transaction is left: state, charge, rollup.
    assert (broken.state, broken.accepted_at, broken.charged_at) == ("ISSUED", None, None)
    assert TrackingEvent.objects.get(label=broken).applied_at is None
    assert len(gateway.charges) == 1

    monkeypatch.setattr("returns.notifications.queue_event_notices", real)
    assert apply_pending_events() == 1
    broken.refresh_from_db()
    assert broken.state == "ACCEPTED" and len(gateway.charges) == 2


# --- notices --------------------------------------------------------------------------------


def test_recipients_are_told_once_per_event_and_not_of_a_second_scan(gateway):
    label = LabelFactory()
    RecipientFactory(account=label.account)
    ingest([event_data(label, "ACCEPTED", T0)])
    ingest([event_data(label, "ACCEPTED", T0)])  # the same event again
    ingest([event_data(label, "ACCEPTED", T0 + HOUR)])  # a second drop-off scan
    ingest([event_data(label, "DELIVERED", T0 + 30 * HOUR)])
    notices = Delivery.objects.filter(kind="returns.event").order_by("pk")
    assert [d.facts["kind"] for d in notices] == ["ACCEPTED", "DELIVERED"]


def test_the_task_applies_what_is_pending_and_says_how_many(gateway):
    label = LabelFactory()
    record_tracking_events(
        [event_data(label, "ACCEPTED", T0), event_data(label, "IN_TRANSIT", T0 + HOUR)]
    )
    assert tasks.apply_pending_events.delay().get() == 2
    assert tasks.apply_pending_events.delay().get() == 0


# --- a run's time budget ----------------------------------------------------------------------


def in_transit_events(count: int) -> list[TrackingEvent]:
    return [EventFactory.create(kind=TrackingEvent.Kind.IN_TRANSIT) for _ in range(count)]


def test_a_run_past_its_time_stops_between_labels_and_the_next_applies_the_rest():
    events = in_transit_events(3)

    assert apply_pending_events(seconds=0) == 1  # one label at least, then no new one

    assert TrackingEvent.objects.filter(applied_at__isnull=True).count() == 2
    assert apply_pending_events() == 2
    assert all(
        event.applied_at for event in TrackingEvent.objects.filter(pk__in=[e.pk for e in events])
    )


def test_the_job_stopped_for_time_hands_the_rest_to_a_run_of_its_own(monkeypatch):
    in_transit_events(2)
    handed: list[bool] = []
    monkeypatch.setattr(tasks, "APPLY_SECONDS", 0.0)
    monkeypatch.setattr(tasks.apply_pending_events, "delay", lambda: handed.append(True))

    assert tasks.apply_pending_events() == 1
    assert handed == [True]

    handed.clear()
    assert tasks.apply_pending_events() == 1  # the last label: nothing is left to hand over
    assert handed == []
