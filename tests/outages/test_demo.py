"""The source page's table as demo data: next year, every row, idempotent."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from outages import gate
from outages.demo import ROWS, load_demo_window
from outages.features import Feature
from outages.models import Interruption
from portal.formatting import EASTERN, format_span

pytestmark = pytest.mark.django_db


def test_the_whole_table_lands_next_year():
    window, created = load_demo_window()

    assert created
    next_year = timezone.localdate().year + 1
    assert window.starts_at == datetime.datetime(next_year, 6, 22, 23, 59, tzinfo=EASTERN)
    assert window.ends_at == datetime.datetime(next_year, 7, 2, 7, 0, tzinfo=EASTERN)
    assert window.interruptions.count() == len(ROWS) == 28
    assert window.state == window.State.UPCOMING


def test_loading_twice_changes_nothing():
    first, _ = load_demo_window()
    again, created = load_demo_window()

    assert (again.pk, created) == (first.pk, False)
    assert Interruption.objects.count() == 28


def test_rows_map_to_the_capabilities_they_turn_off():
    window, _ = load_demo_window()
    by_name = {i.application_fr: i for i in window.interruptions.all()}

    assert by_name["Inscription"].features == [Feature.REGISTRATION]
    assert set(by_name["Paramètres d\u2019entreprise"].features) == {
        "profile_changes",
        "account_linking",
        "link_removal",
        "payment_methods",
        "delegated_users",
        "password_recovery",
    }
    assert by_name["Ouvrir une session"].features == ["sign_in"]
    assert by_name["Boutique en ligne"].features == []
    billing = window.interruptions.filter(application_fr="Facturation et paiements")
    assert sorted((i.scope, tuple(i.features)) for i in billing) == [
        ("all", ("invoices", "online_payment")),
        ("writes", ("invoices", "online_payment")),
    ]


def test_the_table_reads_as_the_source_page():
    window, _ = load_demo_window()
    billing = window.interruptions.filter(application_fr="Facturation et paiements")[0]

    with translation.override("fr"):
        text = format_span(billing.starts_at, billing.ends_at)

    year = window.starts_at.year
    assert text == f"Du 25 juin {year}, 22 h au 30 juin {year}, 18 h (HE)"


def test_invoices_stay_readable_during_the_first_billing_interruption():
    window, _ = load_demo_window()
    year = window.starts_at.year
    moment = datetime.datetime(year, 6, 27, 12, 0, tzinfo=EASTERN)

    assert gate.is_open(Feature.INVOICES, write=False, at=moment)
    assert not gate.is_open(Feature.ONLINE_PAYMENT, at=moment)
    later = datetime.datetime(year, 7, 1, 12, 0, tzinfo=EASTERN)
    assert not gate.is_open(Feature.INVOICES, write=False, at=later)
    assert not gate.is_open(Feature.SIGN_IN, at=later)
    assert gate.is_open(Feature.SIGN_IN, at=datetime.datetime(year, 7, 2, 7, 0, tzinfo=EASTERN))


def test_seed_demo_loads_it():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    assert Interruption.objects.count() == 28
