"""Canadian sales tax on the portal's services: one home for every rate and its effective date.

A charge is taxed by the province of the account's business address on the day it is made:
GST alone (AB, NT, NU, YT), GST with the province's own sales tax (BC, MB, SK: PST; QC: QST), or
the harmonized HST (NB, NL, NS, ON, PE). Each tax is rounded half-up on its own line.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from billing.money import ZERO, rounded

GST, HST, PST, QST = "gst", "hst", "pst", "qst"
TAX_NAMES = {GST: _("GST"), HST: _("HST"), PST: _("PST"), QST: _("QST")}
TAXES = (GST, HST, PST, QST)


@dataclass(frozen=True)
class Rate:
    tax: str
    percent: Decimal
    since: datetime.date


def _rates(*rates: tuple[str, str, datetime.date]) -> tuple[Rate, ...]:
    return tuple(Rate(tax, Decimal(percent), since) for tax, percent, since in rates)


_GST_SINCE = datetime.date(2008, 1, 1)
_HST_15 = datetime.date(2016, 7, 1)  # NB, NL and PE from 13% (PE 14%) to 15%

# Each province's rates, newest last; the rate in force on a day is the latest `since` <= day.
RATES: dict[str, tuple[Rate, ...]] = {
    "AB": _rates((GST, "5", _GST_SINCE)),
    "NT": _rates((GST, "5", _GST_SINCE)),
    "NU": _rates((GST, "5", _GST_SINCE)),
    "YT": _rates((GST, "5", _GST_SINCE)),
    "BC": _rates((GST, "5", _GST_SINCE), (PST, "7", datetime.date(2013, 4, 1))),
    "MB": _rates(
        (GST, "5", _GST_SINCE),
        (PST, "8", datetime.date(2013, 7, 1)),
        (PST, "7", datetime.date(2019, 7, 1)),
    ),
    "SK": _rates((GST, "5", _GST_SINCE), (PST, "6", datetime.date(2017, 3, 23))),
    "QC": _rates((GST, "5", _GST_SINCE), (QST, "9.975", datetime.date(2013, 1, 1))),
    "ON": _rates((HST, "13", datetime.date(2010, 7, 1))),
    "NB": _rates((HST, "13", datetime.date(2010, 7, 1)), (HST, "15", _HST_15)),
    "NL": _rates((HST, "13", datetime.date(2010, 7, 1)), (HST, "15", _HST_15)),
    "PE": _rates((HST, "14", datetime.date(2013, 4, 1)), (HST, "15", _HST_15)),
    "NS": _rates((HST, "15", datetime.date(2010, 7, 1)), (HST, "14", datetime.date(2025, 4, 1))),
}


class UnknownProvince(ValueError):
    """A province code the tax table does not know: a programming or data error, never a 0%."""


@dataclass(frozen=True)
class TaxedAmount:
    """An amount before tax, each tax on it, and the total."""

    amount: Decimal
    gst: Decimal = ZERO
    hst: Decimal = ZERO
    pst: Decimal = ZERO
    qst: Decimal = ZERO

    @property
    def tax(self) -> Decimal:
        return self.gst + self.hst + self.pst + self.qst

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


def rates_on(province: str, day: datetime.date) -> dict[str, Decimal]:
    """The percent of each tax in force in `province` on `day` (taxes not levied are absent)."""
    try:
        history = RATES[province]
    except KeyError:
        raise UnknownProvince(province) from None
    in_force: dict[str, Decimal] = {}
    for rate in history:
        if rate.since <= day:
            in_force[rate.tax] = rate.percent
    return in_force


def taxed(amount: Decimal, *, province: str, day: datetime.date) -> TaxedAmount:
    """`amount` (before tax) with the taxes of `province` on `day`, each rounded half-up."""
    amount = rounded(amount)
    taxes = {
        tax: rounded(amount * percent / 100) for tax, percent in rates_on(province, day).items()
    }
    return TaxedAmount(amount=amount, **taxes)
