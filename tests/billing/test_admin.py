"""Support staff's billing admin: every page opens, money rows are never edited or deleted, and
what staff do goes through the services (supplier accounts, cheques and transfers, refunds,
credit terms, conversions)."""

import datetime
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AuditEvent, BusinessAccount, Contact, Contract
from billing.exceptions import TermsNeedAgreement
from billing.models import (
    BillingProfile,
    Charge,
    Invoice,
    InvoiceNumber,
    Payment,
    PaymentMethod,
    UpgradeReview,
)
from billing.services.upgrades import set_credit_terms
from outages import gate
from portal.models import Delivery
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.billing.factories import (
    BillingProfileFactory,
    CardFactory,
    ChargeFactory,
    InvoiceFactory,
    StatementFactory,
    SupplierAccountFactory,
)
from tests.billing.fakes import FakeGateway

pytestmark = pytest.mark.django_db

D = Decimal
Event = AuditEvent.Event


class RefundRecordingGateway(FakeGateway):
    """The shared fake, keeping the refunds asked of it (and failing when told to)."""

    refunds: ClassVar[list[tuple[str, int]]] = []
    down: ClassVar[bool] = False

    def refund(self, *, payment_id: str, cents: int) -> str:
        if self.down:
            from billing.gateway import GatewayUnavailable

            raise GatewayUnavailable("down")
        self.refunds.append((payment_id, cents))
        return f"re_{payment_id}"


@pytest.fixture
def gateway(settings: Any) -> type[RefundRecordingGateway]:
    RefundRecordingGateway.reset()
    RefundRecordingGateway.refunds = []
    RefundRecordingGateway.down = False
    settings.BILLING_GATEWAY = "tests.billing.test_admin.RefundRecordingGateway"
    return RefundRecordingGateway


@pytest.fixture
def staff(client, mfa_staff_user):
    client.force_login(mfa_staff_user.user)
    return client


def texts(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def commercial(*, agreement: bool = True, **fields: Any) -> BusinessAccount:
    account = BusinessAccountFactory.create(**fields)
    if agreement:
        ContractFactory.create(account=account)
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY)
    return account


def every_kind_of_row() -> dict[str, Any]:
    account = commercial()
    invoice = InvoiceFactory.create(account=account)
    card = CardFactory.create(account=account, is_default=True)
    charge = ChargeFactory.create(account=account, invoice=invoice, status="INVOICED")
    payment = Payment.objects.create(
        invoice=invoice,
        method="EFT",
        amount=D("1.00"),
        idempotency_key=f"k{invoice.pk}",
        status="FAILED",
    )
    statement = StatementFactory.create()
    ChargeFactory.create(account=statement.account, statement=statement, status="PAID")
    return {
        "billingprofile": BillingProfileFactory.create(account=account, terms_days=30),
        "paymentmethod": card,
        "supplier": SupplierAccountFactory.create(account=account),
        "charge": charge,
        "invoice": invoice,
        "payment": payment,
        "statement": statement,
        "invoicenumber": InvoiceNumber.objects.get_or_create(year=2026, defaults={"last": 3})[0],
        "upgradereview": UpgradeReview.objects.create(
            account=statement.account,
            opened_on=datetime.date(2026, 5, 1),
            shipments=1200,
            revenue=D("9000.00"),
        ),
    }


MODELS = [
    "billingprofile",
    "paymentmethod",
    "charge",
    "invoice",
    "payment",
    "statement",
    "invoicenumber",
    "upgradereview",
]


@pytest.mark.parametrize("model", MODELS)
def test_each_list_and_change_page_opens(staff, model):
    rows = every_kind_of_row()
    row = rows[model]

    listing = staff.get(reverse(f"admin:billing_{model}_changelist"))
    change = staff.get(reverse(f"admin:billing_{model}_change", args=[row.pk]))

    assert listing.status_code == 200 and listing.context["cl"].result_count >= 1
    assert change.status_code == 200


def test_a_supplier_account_page_opens_too(staff):
    supplier = every_kind_of_row()["supplier"]

    response = staff.get(reverse("admin:billing_paymentmethod_change", args=[supplier.pk]))

    assert response.status_code == 200
    assert supplier.meter_serial in response.content.decode()


@pytest.mark.parametrize(
    "model, factory",
    [
        ("charge", ChargeFactory),
        ("invoice", InvoiceFactory),
        ("statement", StatementFactory),
    ],
)
def test_money_rows_are_never_added_changed_or_deleted(staff, model, factory):
    row = factory.create()
    change = reverse(f"admin:billing_{model}_change", args=[row.pk])

    assert staff.get(reverse(f"admin:billing_{model}_add")).status_code == 403
    assert staff.post(change, {"total": "0.00"}).status_code == 403
    assert staff.post(reverse(f"admin:billing_{model}_delete", args=[row.pk])).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


def test_payments_are_never_deleted_and_the_bulk_delete_action_is_gone(staff):
    payment = every_kind_of_row()["payment"]

    delete = staff.post(reverse("admin:billing_payment_delete", args=[payment.pk]))
    listing = staff.get(reverse("admin:billing_payment_changelist"))

    assert delete.status_code == 403 and Payment.objects.filter(pk=payment.pk).exists()
    assert listing.context["action_form"] is None


def test_a_card_is_shown_but_never_edited(staff):
    card = CardFactory.create(holder_name="Ava Singh", last4="1881")
    change = reverse("admin:billing_paymentmethod_change", args=[card.pk])

    page = staff.get(change).content.decode()
    edit = staff.post(change, {"gateway_id": "pm_other", "last4": "0000"})

    assert "Ava Singh" in page and "1881" in page and "12/2031" in page
    assert 'name="gateway_id"' not in page
    assert edit.status_code == 403
    card.refresh_from_db()
    assert (card.gateway_id, card.last4) != ("pm_other", "0000")


def test_staff_add_a_supplier_account_which_becomes_the_default_of_an_account_without_one(
    staff, mfa_staff_user
):
    account = BusinessAccountFactory.create(kind="SMALL_BUSINESS")
    add = reverse("admin:billing_paymentmethod_add")

    form = staff.get(add).content.decode()
    response = staff.post(
        add,
        {
            "account": account.pk,
            "supplier_name": "Pitney Bowes",
            "supplier_account": "SA-1234",
            "meter_serial": "PB-99",
        },
    )

    assert 'name="meter_serial"' in form and 'name="last4"' not in form
    assert 'name="gateway_id"' not in form
    assert response.status_code == 302
    method = PaymentMethod.objects.get(account=account)
    assert (method.kind, method.status, method.is_default) == ("SUPPLIER", "ACTIVE", True)
    assert (method.supplier_name, method.supplier_account, method.meter_serial) == (
        "Pitney Bowes",
        "SA-1234",
        "PB-99",
    )
    assert method.added_by == mfa_staff_user.user


def test_a_supplier_account_added_beside_a_default_card_is_not_the_default(staff):
    card = CardFactory.create(is_default=True)

    staff.post(
        reverse("admin:billing_paymentmethod_add"),
        {
            "account": card.account.pk,
            "supplier_name": "Pitney Bowes",
            "supplier_account": "SA-1234",
            "meter_serial": "PB-99",
        },
    )

    supplier = PaymentMethod.objects.get(kind="SUPPLIER")
    assert not supplier.is_default
    card.refresh_from_db()
    assert card.is_default


def test_a_supplier_account_needs_every_field(staff):
    account = BusinessAccountFactory.create()

    response = staff.post(
        reverse("admin:billing_paymentmethod_add"),
        {"account": account.pk, "supplier_name": "Pitney Bowes", "supplier_account": ""},
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"supplier_account", "meter_serial"}
    assert not PaymentMethod.objects.exists()


# --- cheques and transfers ---------------------------------------------------------------------


def open_invoice() -> Invoice:
    account = commercial()
    ContactFactory.create(account=account, role=Contact.Role.BILLING)
    return InvoiceFactory.create(account=account, total=D("1234.56"), amount=D("1092.53"))


def record(staff: Any, invoice: Invoice, **fields: str) -> Any:
    """The list's action on one invoice: its form page, or (with fields) the form sent."""
    data = {"action": "record_offline_payment", "_selected_action": [invoice.pk]}
    if fields:
        data |= {"record": "yes", **fields}
    return staff.post(reverse("admin:billing_invoice_changelist"), data)


def test_staff_record_a_cheque_that_pays_the_invoice(staff, mfa_staff_user):
    invoice = open_invoice()

    page = record(staff, invoice)
    response = record(staff, invoice, method="CHEQUE", amount="1234.56", reference="CHQ 004211")

    assert page.status_code == 200 and "$1,234.56" in page.content.decode()
    assert 'name="reference"' in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_invoice_change", args=[invoice.pk])
    assert texts(response) == [f"Payment recorded: invoice {invoice.number} is paid."]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Invoice.Status.PAID, D("1234.56"))
    payment = invoice.payments.get()
    assert (payment.method, payment.reference, payment.paid_by) == (
        "CHEQUE",
        "CHQ 004211",
        mfa_staff_user.user,
    )
    assert AuditEvent.objects.filter(event=Event.OFFLINE_PAYMENT_RECORDED).count() == 1
    assert Delivery.objects.filter(kind="billing.invoice_paid").exists()


def test_a_cheque_for_another_amount_is_refused_with_a_message(staff):
    invoice = open_invoice()

    response = record(staff, invoice, method="EFT", amount="1000.00", reference="T-1")

    assert response.status_code == 200
    assert texts(response) == ["A cheque or transfer must pay the invoice's whole balance."]
    assert 'name="amount"' in response.content.decode()  # the form again, to correct
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN and not invoice.payments.exists()


def test_the_payment_form_refuses_bad_input_and_changes_nothing(staff):
    invoice = open_invoice()

    response = record(staff, invoice, method="CARD", amount="-5", reference="")

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"method", "amount", "reference"}
    assert not Payment.objects.exists()


def test_a_paid_invoice_offers_no_payment_form(staff):
    invoice = InvoiceFactory.create(status=Invoice.Status.PAID, amount_paid=D("113.00"))

    page = record(staff, invoice).content.decode()
    response = record(staff, invoice, method="EFT", amount="113.00", reference="T-1")

    assert "There is nothing left to pay on this invoice." in page
    assert 'name="amount"' not in page
    assert texts(response) == ["This invoice is already paid or void: there is nothing to pay."]
    assert not Payment.objects.exists()


def test_a_cheque_pays_one_invoice_at_a_time(staff):
    invoice, other = open_invoice(), open_invoice()

    response = staff.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "record_offline_payment", "_selected_action": [invoice.pk, other.pk]},
    )

    assert texts(response) == ["Choose one invoice: a cheque or transfer pays one invoice."]
    assert not Payment.objects.exists()


# --- refunds ----------------------------------------------------------------------------------


def test_a_paid_card_charge_is_refunded_after_confirmation(staff, gateway):
    charge = ChargeFactory.create(status="PAID", gateway_payment_id="pi_42", total=D("11.30"))
    listing = reverse("admin:billing_charge_changelist")
    chosen = {"action": "refund", "_selected_action": [charge.pk]}

    confirm = staff.post(listing, chosen)
    charge.refresh_from_db()
    assert confirm.status_code == 200 and "$11.30" in confirm.content.decode()
    assert charge.status == "PAID" and gateway.refunds == []

    done = staff.post(listing, {**chosen, "confirm": "yes"})

    charge.refresh_from_db()
    assert charge.status == Charge.Status.REFUNDED
    assert gateway.refunds == [("pi_42", 1130)]
    assert texts(done) == ["1 charge refunded."]


def test_charges_not_paid_by_card_are_left_alone(staff, gateway):
    waiting = ChargeFactory.create(status="AWAITING_INVOICE")
    supplier = ChargeFactory.create(status="SUPPLIER")

    response = staff.post(
        reverse("admin:billing_charge_changelist"),
        {"action": "refund", "_selected_action": [waiting.pk, supplier.pk], "confirm": "yes"},
    )

    assert texts(response) == [
        "2 charges were left alone: only charges paid by card can be refunded."
    ]
    assert gateway.refunds == []
    assert set(Charge.objects.values_list("status", flat=True)) == {"AWAITING_INVOICE", "SUPPLIER"}


def test_a_refund_while_the_gateway_is_down_says_so_and_changes_nothing(staff, gateway):
    charge = ChargeFactory.create(status="PAID", gateway_payment_id="pi_43")
    gateway.down = True

    response = staff.post(
        reverse("admin:billing_charge_changelist"),
        {"action": "refund", "_selected_action": [charge.pk], "confirm": "yes"},
    )

    assert len(texts(response)) == 1 and "payment service is not answering" in texts(response)[0]
    charge.refresh_from_db()
    assert charge.status == "PAID"


# --- credit terms -----------------------------------------------------------------------------


def test_credit_terms_without_an_agreement_are_refused_and_change_nothing(staff):
    account = commercial(agreement=False)
    profile = BillingProfileFactory.create(account=account)

    response = staff.post(
        reverse("admin:billing_billingprofile_change", args=[profile.pk]), {"terms_days": "30"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["terms_days"] == [
        "Credit terms need a commercial account with an active agreement."
    ]
    profile.refresh_from_db()
    assert profile.terms_days is None
    assert not AuditEvent.objects.filter(event=Event.CREDIT_TERMS_CHANGED).exists()


def test_credit_terms_with_an_agreement_are_saved_by_the_service_and_audited(staff, mfa_staff_user):
    account = commercial()
    profile = BillingProfileFactory.create(account=account)

    response = staff.post(
        reverse("admin:billing_billingprofile_change", args=[profile.pk]), {"terms_days": "15"}
    )

    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.terms_days == 15
    event = AuditEvent.objects.get(event=Event.CREDIT_TERMS_CHANGED)
    assert (event.actor, event.account, event.details) == (
        mfa_staff_user.user,
        account,
        {"previous": None, "terms_days": 15},
    )


def test_staff_add_a_profile_with_terms_for_an_account_that_has_none(staff):
    account = commercial()

    response = staff.post(
        reverse("admin:billing_billingprofile_add"), {"account": account.pk, "terms_days": "30"}
    )

    assert response.status_code == 302
    assert BillingProfile.objects.get(account=account).terms_days == 30
    assert AuditEvent.objects.filter(event=Event.CREDIT_TERMS_CHANGED).count() == 1


@pytest.mark.parametrize("kind, agreement", [("SMALL_BUSINESS", True), ("COMMERCIAL", False)])
def test_the_service_refuses_terms_without_a_commercial_agreement(staff_user, kind, agreement):
    account = commercial(agreement=agreement, kind=kind)

    with pytest.raises(TermsNeedAgreement):
        set_credit_terms(staff=staff_user, account_id=account.pk, terms_days=30)

    assert BillingProfile.objects.filter(account=account, terms_days__isnull=False).count() == 0


def test_ending_terms_is_always_allowed_and_the_same_terms_again_change_nothing(staff_user):
    account = commercial()
    set_credit_terms(staff=staff_user, account_id=account.pk, terms_days=30)
    set_credit_terms(staff=staff_user, account_id=account.pk, terms_days=30)
    Contract.objects.filter(account=account).update(status=Contract.Status.EXPIRED)

    profile = set_credit_terms(staff=staff_user, account_id=account.pk, terms_days=None)

    assert profile.terms_days is None
    details = list(
        AuditEvent.objects.filter(event=Event.CREDIT_TERMS_CHANGED)
        .order_by("pk")
        .values_list("details", flat=True)
    )
    assert details == [
        {"previous": None, "terms_days": 30},
        {"previous": 30, "terms_days": None},
    ]


def test_the_account_of_a_profile_is_read_only_once_saved(staff):
    profile = BillingProfileFactory.create()

    page = staff.get(reverse("admin:billing_billingprofile_change", args=[profile.pk]))

    assert 'name="account"' not in page.content.decode()
    assert 'name="terms_days"' in page.content.decode()


# --- conversions --------------------------------------------------------------------------------


def test_staff_convert_a_commercial_account_to_small_business(staff, mfa_staff_user):
    account = commercial()
    profile = BillingProfileFactory.create(account=account, terms_days=30)

    response = staff.post(
        reverse("admin:billing_billingprofile_changelist"),
        {"action": "convert_to_small_business", "_selected_action": [profile.pk]},
    )

    account.refresh_from_db()
    profile.refresh_from_db()
    assert account.kind == BusinessAccount.Kind.SMALL_BUSINESS and profile.terms_days is None
    assert not Contract.objects.filter(account=account, status="ACTIVE").exists()
    event = AuditEvent.objects.get(event=Event.ACCOUNT_CONVERTED)
    assert event.actor == mfa_staff_user.user
    assert texts(response) == ["1 account converted; its contacts are told by e-mail."]
    assert Delivery.objects.filter(kind="billing.account_converted").exists()


def test_converting_an_account_to_its_own_kind_says_so(staff):
    converted = BillingProfileFactory.create(account=commercial(kind="SMALL_BUSINESS"))
    already = BillingProfileFactory.create(account=commercial(legal_name="Already Inc."))

    response = staff.post(
        reverse("admin:billing_billingprofile_changelist"),
        {"action": "convert_to_commercial", "_selected_action": [converted.pk, already.pk]},
    )

    messages = texts(response)
    assert f"{already.account}: The account is already of that kind." in messages
    assert "1 account converted; its contacts are told by e-mail." in messages
    converted.account.refresh_from_db()
    assert converted.account.kind == BusinessAccount.Kind.COMMERCIAL


def test_sales_staff_convert_the_account_of_an_upgrade_review(staff):
    account = commercial(kind="SMALL_BUSINESS")
    review = UpgradeReview.objects.create(
        account=account, opened_on=datetime.date(2026, 5, 1), shipments=1200, revenue=D("1")
    )

    staff.post(
        reverse("admin:billing_upgradereview_changelist"),
        {"action": "convert_to_commercial", "_selected_action": [review.pk]},
    )

    account.refresh_from_db()
    review.refresh_from_db()
    assert account.kind == BusinessAccount.Kind.COMMERCIAL
    assert review.status == UpgradeReview.Status.CONVERTED


def test_sales_staff_note_a_call_on_a_review(staff):
    account = commercial(kind="SMALL_BUSINESS")
    review = UpgradeReview.objects.create(
        account=account, opened_on=datetime.date(2026, 5, 1), shipments=1200, revenue=D("1")
    )
    url = reverse("admin:billing_upgradereview_change", args=[review.pk])

    noted = staff.post(url, {"status": "CONTACTED", "notes": "Called Ava, calls back Monday."})
    converted = staff.post(url, {"status": "CONVERTED", "notes": ""})

    assert noted.status_code == 302
    assert converted.status_code == 200 and "status" in converted.context["adminform"].form.errors
    review.refresh_from_db()
    assert (review.status, review.notes) == ("CONTACTED", "Called Ava, calls back Monday.")
    assert staff.get(reverse("admin:billing_upgradereview_add")).status_code == 403


def test_upgrade_reviews_filter_by_status(staff):
    for status in ("OPEN", "CONTACTED", "DECLINED"):
        UpgradeReview.objects.create(
            account=commercial(kind="SMALL_BUSINESS"),
            opened_on=datetime.date(2026, 5, 1),
            shipments=1200,
            revenue=D("1"),
            status=status,
        )

    response = staff.get(
        reverse("admin:billing_upgradereview_changelist"), {"status__exact": "CONTACTED"}
    )

    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize("model", MODELS)
def test_lists_do_not_grow_their_queries_with_rows(staff, model, django_assert_max_num_queries):
    every_kind_of_row()
    gate.snapshot()  # the maintenance banner's cached snapshot, built once per process
    with django_assert_max_num_queries(100) as one:
        assert staff.get(reverse(f"admin:billing_{model}_changelist")).status_code == 200
    for _ in range(5):
        every_kind_of_row()
    with django_assert_max_num_queries(len(one)) as six:
        assert staff.get(reverse(f"admin:billing_{model}_changelist")).status_code == 200

    assert len(six) == len(one)
