"""Canadian sales tax by province and date, half-up rounding per line, and money as each language
writes it."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from billing.money import format_money, from_cents, rounded, to_cents
from billing.tax import RATES, UnknownProvince, rates_on, taxed

D = Decimal
DAY = datetime.date(2026, 6, 15)
NBSP = "\N{NO-BREAK SPACE}"

# Every province and territory on DAY: the taxes levied and their percent.
RATES_2026 = {
    "AB": {"gst": D("5")},
    "NT": {"gst": D("5")},
    "NU": {"gst": D("5")},
    "YT": {"gst": D("5")},
    "BC": {"gst": D("5"), "pst": D("7")},
    "MB": {"gst": D("5"), "pst": D("7")},
    "SK": {"gst": D("5"), "pst": D("6")},
    "QC": {"gst": D("5"), "qst": D("9.975")},
    "ON": {"hst": D("13")},
    "NB": {"hst": D("15")},
    "NL": {"hst": D("15")},
    "PE": {"hst": D("15")},
    "NS": {"hst": D("14")},
}


def test_every_province_and_territory_has_rates():
    assert set(RATES) == set(RATES_2026)


@pytest.mark.parametrize(("province", "expected"), RATES_2026.items())
def test_the_rates_in_force_in_each_province(province, expected):
    assert rates_on(province, DAY) == expected


@pytest.mark.parametrize(
    ("province", "taxes", "total"),
    [
        ("AB", {"gst": D("5.00")}, D("105.00")),
        ("NT", {"gst": D("5.00")}, D("105.00")),
        ("NU", {"gst": D("5.00")}, D("105.00")),
        ("YT", {"gst": D("5.00")}, D("105.00")),
        ("BC", {"gst": D("5.00"), "pst": D("7.00")}, D("112.00")),
        ("MB", {"gst": D("5.00"), "pst": D("7.00")}, D("112.00")),
        ("SK", {"gst": D("5.00"), "pst": D("6.00")}, D("111.00")),
        ("QC", {"gst": D("5.00"), "qst": D("9.98")}, D("114.98")),
        ("ON", {"hst": D("13.00")}, D("113.00")),
        ("NB", {"hst": D("15.00")}, D("115.00")),
        ("NL", {"hst": D("15.00")}, D("115.00")),
        ("PE", {"hst": D("15.00")}, D("115.00")),
        ("NS", {"hst": D("14.00")}, D("114.00")),
    ],
)
def test_one_hundred_dollars_taxed_in_each_province(province, taxes, total):
    result = taxed(D("100"), province=province, day=DAY)

    levied = {"gst": D("0"), "hst": D("0"), "pst": D("0"), "qst": D("0"), **taxes}
    assert (result.gst, result.hst, result.pst, result.qst) == (
        levied["gst"],
        levied["hst"],
        levied["pst"],
        levied["qst"],
    )
    assert result.amount == D("100.00")
    assert result.total == total
    assert result.tax == total - D("100.00")


def test_an_unknown_province_is_an_error_never_zero_tax():
    with pytest.raises(UnknownProvince):
        rates_on("XX", DAY)
    with pytest.raises(UnknownProvince):
        taxed(D("10"), province="", day=DAY)


@pytest.mark.parametrize(
    ("province", "day", "hst"),
    [
        ("NS", datetime.date(2025, 3, 31), D("15")),
        ("NS", datetime.date(2025, 4, 1), D("14")),
        ("NB", datetime.date(2016, 6, 30), D("13")),
        ("NB", datetime.date(2016, 7, 1), D("15")),
        ("PE", datetime.date(2016, 6, 30), D("14")),
    ],
)
def test_a_rate_changes_on_its_effective_date(province, day, hst):
    assert rates_on(province, day) == {"hst": hst}


def test_a_tax_not_yet_levied_on_a_day_is_absent():
    assert rates_on("BC", datetime.date(2013, 3, 31)) == {"gst": D("5")}
    assert rates_on("ON", datetime.date(2010, 6, 30)) == {}


def test_each_tax_is_rounded_half_up_on_its_own_line():
    # GST 5% of 12.50 = 0.625 and PST 7% of 12.50 = 0.875: each rounded up on its own line.
    bc = taxed(D("12.50"), province="BC", day=DAY)
    assert (bc.gst, bc.pst, bc.total) == (D("0.63"), D("0.88"), D("14.01"))
    # HST 13% of 0.50 = 0.065 → 0.07 (banker's rounding would give 0.06).
    assert taxed(D("0.50"), province="ON", day=DAY).hst == D("0.07")
    # QC: GST 0.9995 → 1.00, QST 1.9940... → 1.99; the total adds the rounded lines.
    qc = taxed(D("19.99"), province="QC", day=DAY)
    assert (qc.gst, qc.qst, qc.total) == (D("1.00"), D("1.99"), D("22.98"))


def test_the_amount_itself_is_rounded_before_tax():
    result = taxed(D("10.005"), province="AB", day=DAY)

    assert (result.amount, result.gst, result.total) == (D("10.01"), D("0.50"), D("10.51"))


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("0.125", "0.13"),
        ("0.124", "0.12"),
        ("0.135", "0.14"),
        ("2.675", "2.68"),
        ("0.005", "0.01"),
        ("-0.125", "-0.13"),
        ("7", "7.00"),
    ],
)
def test_money_is_rounded_half_up_to_the_cent(amount, cents):
    assert rounded(D(amount)) == D(cents)
    assert str(rounded(D(amount))) == cents


@pytest.mark.parametrize(
    ("amount", "cents"),
    [(D("11.30"), 1130), (D("0.125"), 13), (D("1234.56"), 123_456), (D("0"), 0), (D("5"), 500)],
)
def test_the_gateway_is_sent_whole_cents(amount, cents):
    assert to_cents(amount) == cents
    assert isinstance(to_cents(amount), int)
    assert from_cents(cents) == rounded(amount)


def test_money_as_an_english_reader_writes_it():
    assert format_money(D("1234.56"), "en") == "$1,234.56"
    assert format_money(D("1234567.891"), "en") == "$1,234,567.89"
    assert format_money(D("0"), "en") == "$0.00"


def test_money_as_a_french_reader_writes_it():
    # Babel writes the thousands separator and the space before "$" as no-break spaces.
    assert format_money(D("1234.56"), "fr") == f"1{NBSP}234,56{NBSP}$"
    assert format_money(D("1234567.891"), "fr") == f"1{NBSP}234{NBSP}567,89{NBSP}$"
    assert format_money(D("0.125"), "fr") == f"0,13{NBSP}$"


def test_money_follows_the_active_language():
    with translation.override("fr"):
        assert format_money(D("1234.56")) == f"1{NBSP}234,56{NBSP}$"
    with translation.override("en"):
        assert format_money(D("1234.56")) == "$1,234.56"
