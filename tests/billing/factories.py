"""Factories for billing rows."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from billing.models import BillingProfile, Charge, Invoice, PaymentMethod, Statement
from tests.accounts.factories import BusinessAccountFactory
from tests.factories import ModelFactory


class BillingProfileFactory(ModelFactory[BillingProfile]):
    class Meta:
        model = BillingProfile
        django_get_or_create = ("account",)

    account = factory.SubFactory(BusinessAccountFactory)
    terms_days = None


class CardFactory(ModelFactory[PaymentMethod]):
    """A card as saved through the gateway (its id is made up: no gateway call)."""

    class Meta:
        model = PaymentMethod

    account = factory.SubFactory(BusinessAccountFactory)
    kind = PaymentMethod.Kind.CARD
    gateway_id = factory.Sequence(lambda n: f"pm_factory{n:06d}")
    brand = "visa"
    last4 = "4242"
    exp_month = 12
    exp_year = 2031
    holder_name = "Jane Roy"
    is_default = False


class SupplierAccountFactory(ModelFactory[PaymentMethod]):
    class Meta:
        model = PaymentMethod

    account = factory.SubFactory(BusinessAccountFactory)
    kind = PaymentMethod.Kind.SUPPLIER_ACCOUNT
    meter_serial = factory.Sequence(lambda n: f"PM{n:06d}")
    supplier_name = "Pitney Bowes"
    supplier_account = factory.Sequence(lambda n: f"SA{n:08d}")


class ChargeFactory(ModelFactory[Charge]):
    class Meta:
        model = Charge

    account = factory.SubFactory(BusinessAccountFactory)
    description = "Return label"
    source_reference = factory.Sequence(lambda n: f"test:{n}")
    province = "ON"
    status = Charge.Status.AWAITING_INVOICE
    amount = Decimal("10.00")
    hst = Decimal("1.30")
    total = Decimal("11.30")
    charged_at = factory.LazyFunction(timezone.now)


class InvoiceFactory(ModelFactory[Invoice]):
    class Meta:
        model = Invoice

    account = factory.SubFactory(BusinessAccountFactory)
    # A year no service numbers in, so a factory invoice never takes a number close_month gives.
    number = factory.Sequence(lambda n: f"1999-{n + 1:06d}")
    period_start = factory.Sequence(lambda n: datetime.date(2000 + n // 12, n % 12 + 1, 1))
    period_end = factory.LazyAttribute(lambda o: o.period_start + datetime.timedelta(days=27))
    issued_on = datetime.date(2026, 10, 1)
    due_on = datetime.date(2026, 10, 31)
    terms_days = 30
    amount = Decimal("100.00")
    hst = Decimal("13.00")
    total = Decimal("113.00")


class StatementFactory(ModelFactory[Statement]):
    class Meta:
        model = Statement

    account = factory.SubFactory(BusinessAccountFactory, kind="SMALL_BUSINESS")
    period_start = factory.Sequence(lambda n: datetime.date(2000 + n // 12, n % 12 + 1, 1))
    period_end = factory.LazyAttribute(lambda o: o.period_start + datetime.timedelta(days=27))
    issued_on = datetime.date(2026, 10, 1)
    amount = Decimal("20.00")
    hst = Decimal("2.60")
    total = Decimal("22.60")
    charge_count = 2
