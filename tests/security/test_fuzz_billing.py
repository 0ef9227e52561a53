"""Bad input, generated, on the billing side: saving a card (what Stripe.js posts back), paying
an invoice, and the ids and page numbers of the billing pages.

Each example must be refused (the form again with its errors, or a clear 4xx), change no table
and echo nothing unescaped (tests/security/fuzzing.py). Cards go to the in-memory gateway
(tests/billing/fakes.py), except where a setup id that looks right must be refused by the real
adapter: there localstripe answers (tests/billing/conftest.py's stripe_api).
"""

import re
import string
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from tests.billing.conftest import localstripe_base, stripe_api  # noqa: F401 (fixtures)
from tests.security import hostile
from tests.security.fuzzing import FEW, FUZZ, refused
from tests.security.world import World

pytestmark = pytest.mark.django_db

SETUP_ID = re.compile(r"seti_[A-Za-z0-9_]+")  # what billing.forms.SavedCardForm lets through


def _path(name: str, world: World, *more: Any) -> str:
    return reverse(f"billing:{name}", args=[world.a.account.pk, *more])


@FUZZ
@given(
    data=hostile.form_data(
        {
            "setup_id": st.one_of(
                hostile.hostile_text(),
                st.tuples(st.just("seti_"), hostile.hostile_text()).map("".join),
            ).filter(lambda value: not SETUP_ID.fullmatch(value.strip()))
        }
    )
)
def test_saving_a_card_refuses_a_malformed_setup_id(fuzz_world: World, data: dict) -> None:
    _post_to_card_page(fuzz_world, data)


@pytest.mark.usefixtures("stripe_api")  # the Stripe adapter, against localstripe
@FEW
@given(suffix=st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=60))
def test_saving_a_card_refuses_a_setup_the_gateway_does_not_know(
    fuzz_world: World, suffix: str
) -> None:
    _post_to_card_page(fuzz_world, {"setup_id": f"seti_{suffix}"})


def _post_to_card_page(world: World, data: dict) -> None:
    """The browser showed the card page first: that made the account's customer at the gateway
    (once, kept on its billing profile). Only what the POST does is then compared."""
    caller, path = world.caller("a_manage"), _path("add_card", world)

    def shown() -> None:
        assert caller.request("GET", path).status_code == 200

    refused(caller, "POST", path, data, statuses={200}, before_request=shown)


def _not_a_card_of_a(world: World) -> st.SearchStrategy[str]:
    return st.one_of(
        hostile.not_a_number(), st.just(str(world.b.card.pk)), st.just(str(2**70))
    ).filter(lambda value: value.strip() != str(world.a.card.pk))


@FUZZ
@given(data=st.data())
def test_paying_an_invoice_refuses_a_card_or_key_not_offered(
    fuzz_world: World, data: st.DataObject
) -> None:
    body = data.draw(
        hostile.form_data(
            {
                "method": _not_a_card_of_a(fuzz_world),
                "key": st.one_of(hostile.hostile_text(), st.uuids().map(str)),
            }
        )
    )
    path = _path("pay", fuzz_world, fuzz_world.a.invoice.pk)
    refused(fuzz_world.caller("a_validate"), "POST", path, body, statuses={200})


@FUZZ
@given(data=st.data())
def test_paying_refuses_a_bad_key_even_with_the_right_card(
    fuzz_world: World, data: st.DataObject
) -> None:
    body = {
        "method": str(fuzz_world.a.card.pk),
        "key": data.draw(hostile.hostile_text().filter(_not_a_uuid)),
    }
    path = _path("pay", fuzz_world, fuzz_world.a.invoice.pk)
    refused(fuzz_world.caller("a_validate"), "POST", path, body, statuses={200})


def _not_a_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value.strip())
    except ValueError:
        return True
    return False


@FEW
@given(method_id=hostile.huge_integer().filter(lambda n: n >= 0))
def test_an_unknown_payment_method_or_invoice_is_a_404(fuzz_world: World, method_id: int) -> None:
    caller = fuzz_world.caller("a_validate")
    for name in ("make_default", "remove_method", "pay"):
        refused(caller, "POST", _path(name, fuzz_world, method_id), statuses={404})
    for name in ("invoice", "invoice_pdf", "statement_csv"):
        refused(caller, "GET", _path(name, fuzz_world, method_id), statuses={404})


@FUZZ
@given(page=hostile.hostile_text())
def test_billing_lists_ignore_a_bad_page_number(fuzz_world: World, page: str) -> None:
    caller = fuzz_world.caller("a_validate")
    for name, more in (
        ("invoices", ()),
        ("statements", ()),
        ("invoice", (fuzz_world.a.invoice.pk,)),
    ):
        refused(caller, "GET", _path(name, fuzz_world, *more), {"page": page}, statuses={200})
