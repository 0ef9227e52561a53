"""Bad input, generated, on the returns side: the return policy form, the public direct return
link (GET and POST), the signed tracking endpoint, the CSV import, the notification settings,
the unsubscribe link, and the reports' and lists' query parameters.

Each example must be refused (the form again with its errors, or a clear 4xx), change no table
and echo nothing unescaped (tests/security/fuzzing.py). The direct link's free-text fields may
legitimately hold markup: their own property checks that an accepted label shows it escaped.
"""

import io
import json
import time
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import CharField
from django.test import Client
from django.urls import reverse
from hypothesis import assume, given
from hypothesis import strategies as st

from returns.models import ReturnLabel
from returns.views.tracking import MAX_BODY_BYTES, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from tests.security import hostile
from tests.security.checksum import changed_tables, table_checksum
from tests.security.fuzzing import FEW, FUZZ, refused
from tests.security.world import World

pytestmark = pytest.mark.django_db


# Refused on a label by the form (returns.public_forms): they make an address read differently.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _account_path(name: str, world: World, *more: Any) -> str:
    return reverse(f"returns:{name}", args=[world.a.account.pk, *more])


# --- the return policy form ----------------------------------------------------------------------


def _policy_form(world: World) -> st.SearchStrategy[dict[str, Any]]:
    """Every field hostile; `pay_by` is never one of the agreements or cards offered, so the
    form must refuse whatever the other fields hold."""
    offered = {f"contract:{world.a.contract.pk}", f"card:{world.a.card.pk}"}
    text = hostile.hostile_text()
    return (
        hostile.form_data(
            {
                "name": text,
                "channel": text,
                "service": text,
                "return_name": text,
                "return_street": text,
                "return_city": text,
                "return_province": text,
                "return_postal_code": text,
                "instructions": text,
                "return_window_days": hostile.not_a_number(),
            }
        )
        .flatmap(
            lambda data: st.sampled_from(
                ["", "contract:", "card:x", f"contract:{world.b.contract.pk}", *hostile.SQL]
            ).map(lambda pay_by: {**data, "pay_by": pay_by})
        )
        .filter(lambda data: data["pay_by"] not in offered)
    )


@FUZZ
@given(data=st.data(), edit=st.booleans())
def test_the_policy_form_refuses_bad_input(
    fuzz_world: World, data: st.DataObject, edit: bool
) -> None:
    body = data.draw(_policy_form(fuzz_world))
    if edit:
        path = _account_path("policy_edit", fuzz_world, fuzz_world.a.policy.pk)
    else:
        path = _account_path("policy_create", fuzz_world)
    refused(fuzz_world.caller("a_manage"), "POST", path, body)


# --- the public direct return link ---------------------------------------------------------------


def _label_form() -> st.SearchStrategy[dict[str, Any]]:
    text = hostile.hostile_text()
    return hostile.form_data(
        {
            "customer_name": text,
            "order_reference": text,
            "purchase_date": hostile.not_a_number(),
            "from_street": text,
            "from_city": text,
            "from_province": text,
            "from_postal_code": text,
            "channel": text,
        }
    ).flatmap(
        # The e-mail is required and never valid: the form must refuse the whole request.
        lambda data: hostile.bad_email().map(lambda email: {**data, "customer_email": email})
    )


@FUZZ
@given(data=_label_form())
def test_the_direct_link_refuses_bad_input(fuzz_world: World, data: dict[str, Any]) -> None:
    path = reverse("returns:direct_link", args=[fuzz_world.a.policy.link_token])
    refused(fuzz_world.visitor(), "POST", path, data, statuses={400})


@FUZZ
@given(token=hostile.path_segment(), method=st.sampled_from(("GET", "POST")))
def test_a_bad_direct_link_token_is_a_404(fuzz_world: World, token: str, method: str) -> None:
    assume(token not in (fuzz_world.a.policy.link_token, fuzz_world.b.policy.link_token))
    path = reverse("returns:direct_link", args=[token])
    refused(fuzz_world.visitor(), method, path, {"customer_name": token}, statuses={404})


@FUZZ
@given(number=hostile.path_segment())
def test_a_bad_tracking_number_on_the_label_pages_is_a_404(fuzz_world: World, number: str) -> None:
    assume(number != fuzz_world.a.label.tracking_number)
    token = fuzz_world.a.policy.link_token
    for name in ("label_done", "label_pdf"):
        path = reverse(f"returns:{name}", args=[token, number])
        refused(fuzz_world.visitor(), "GET", path, statuses={404})


@FEW
@given(name=hostile.markup_text(), reference=hostile.markup_text())
def test_a_label_for_a_name_in_markup_shows_it_escaped(
    fuzz_world: World, name: str, reference: str
) -> None:
    """Free text is accepted where it is harmless: the label keeps it, the page escapes it."""
    for field, text in (("customer_name", name), ("order_reference", reference)):
        assume(not any(unicodedata.category(char) == "Cc" for char in text))
        assume(not set(text) & BIDI_CONTROLS)
        assume(0 < len(text.strip()) <= _max_length(field))
    visitor = fuzz_world.visitor()
    data = {
        "customer_name": name,
        "customer_email": "customer@fuzz.example",
        "order_reference": reference,
        "purchase_date": "2000-01-01",
        "from_street": "1 Main Street",
        "from_city": "Ottawa",
        "from_province": "ON",
        "from_postal_code": "K1A 0B1",
        "channel": "ONLINE",
    }
    cache.clear()
    policy = fuzz_world.a.policy
    with transaction.atomic():
        type(policy).objects.filter(pk=policy.pk).update(return_window_days=None)
        response = visitor.request(
            "POST", reverse("returns:direct_link", args=[policy.link_token]), data=data
        )
        assert response.status_code == 302, response.status_code
        label = ReturnLabel.objects.latest("pk")
        assert (label.customer_name, label.order_reference) == (name.strip(), reference.strip())
        page = visitor.request("GET", response["Location"])
        assert page.status_code == 200
        hostile.assert_escaped(page.content.decode(), data)
        transaction.set_rollback(True)


def _max_length(field: str) -> int:
    column = ReturnLabel._meta.get_field(field)
    assert isinstance(column, CharField) and column.max_length
    return column.max_length


# --- the signed tracking endpoint -----------------------------------------------------------------


def _carrier_post(body: bytes, headers: dict[str, str]) -> Any:
    return Client().post(
        reverse("returns:tracking_events"),
        body,
        content_type="application/json",
        headers=headers,
    )


def _signed(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(settings.RETURNS_TRACKING_SECRET, timestamp, body),
    }


def _answer_of(body: bytes, headers: dict[str, str]) -> tuple[Any, list[str]]:
    with transaction.atomic():
        before = table_checksum()
        response = _carrier_post(body, headers)
        changed = changed_tables(before)
        transaction.set_rollback(True)
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"  # never sniffed as HTML
    return response, changed


def _event() -> st.SearchStrategy[Any]:
    value = st.one_of(hostile.hostile_text(), hostile.json_value(max_leaves=3))
    return st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "tracking_number": value,
                "kind": st.one_of(value, st.sampled_from(("DELIVERED", "accepted"))),
                "occurred_at": st.one_of(value, st.just("2026-10-05T14:30:00-04:00")),
                "place": value,
            },
        ),
        hostile.json_value(max_leaves=3),
    )


@FUZZ
@given(events=st.one_of(st.lists(_event(), max_size=4), hostile.json_value()), wrap=st.booleans())
def test_signed_hostile_events_are_refused_one_by_one(
    fuzz_world: World, events: Any, wrap: bool
) -> None:
    document = {"events": events} if wrap else events
    body = json.dumps(document).encode()
    response, changed = _answer_of(body, _signed(body))
    # 200 only for an empty batch: nothing to store.
    assert response.status_code in (200, 400, 413, 422), response.content[:300]
    assert not changed, changed
    if response.status_code == 200:
        assert response.json() == {"results": []}


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=200), hostile.hostile_text().map(str.encode)),
    timestamp=st.one_of(hostile.not_a_number(), st.just(str(int(time.time())))),
    given_signature=hostile.hostile_text(),
)
def test_an_unsigned_or_badly_signed_request_is_a_401(
    fuzz_world: World, body: bytes, timestamp: str, given_signature: str
) -> None:
    # Header values travel as latin-1 in WSGI: what cannot be encoded is never sent.
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: given_signature}
    headers = {
        name: value.encode("latin-1", "replace")
        .decode("latin-1")
        .replace("\n", " ")
        .replace("\r", " ")
        for name, value in headers.items()
    }
    response, changed = _answer_of(body, headers)
    assert response.status_code == 401, response.content[:300]
    assert not changed, changed


def test_an_oversized_body_is_a_413_before_any_check(fuzz_world: World) -> None:
    body = b'{"events": [' + b" " * MAX_BODY_BYTES + b"]}"
    for headers in ({}, _signed(body)):
        response, changed = _answer_of(body, headers)
        assert response.status_code == 413
        assert not changed


# --- the CSV import ------------------------------------------------------------------------------


def _csv_cell() -> st.SearchStrategy[str]:
    return st.one_of(hostile.hostile_text(max_parts=2), st.sampled_from(('"', '""', ",", "\n")))


def _csv_text() -> st.SearchStrategy[str]:
    header = st.sampled_from(
        (
            "tracking_number,event,occurred_at,place",
            "place,occurred_at,event,tracking_number",
            "tracking_number,event",
            "",
        )
    )
    rows = st.lists(st.lists(_csv_cell(), min_size=1, max_size=5).map(",".join), max_size=5)
    return st.tuples(header, rows).map(lambda parts: "\n".join([parts[0], *parts[1]]))


@FUZZ
@given(text=_csv_text(), raw=st.one_of(st.none(), st.binary(max_size=200)), bom=st.booleans())
def test_the_csv_import_reports_bad_rows_and_imports_nothing(
    fuzz_world: World, tmp_path: Path, text: str, raw: bytes | None, bom: bool
) -> None:
    path = tmp_path / "events.csv"
    content = raw if raw is not None else text.encode("utf-8", "surrogateescape")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + content)
    out, err = io.StringIO(), io.StringIO()
    with transaction.atomic():
        before = table_checksum()
        try:
            call_command("import_tracking", str(path), stdout=out, stderr=err)
        except CommandError as error:
            assert error.returncode == 1 or str(error), error
        else:
            assert "0 events imported" in out.getvalue()
        changed = changed_tables(before)
        transaction.set_rollback(True)
    assert not changed, changed


# --- notification settings and the unsubscribe link -----------------------------------------------


@FUZZ
@given(
    data=hostile.form_data(
        {
            "add-email": hostile.bad_email(),
            "add-language": hostile.hostile_text(),
            "add-events": hostile.hostile_text(),
            "add-mode": hostile.hostile_text(),
        }
    )
)
def test_adding_a_recipient_refuses_bad_input(fuzz_world: World, data: dict[str, Any]) -> None:
    data = {**data, "action": "add"}
    refused(
        fuzz_world.caller("a_manage"),
        "POST",
        _account_path("notifications", fuzz_world),
        data,
        statuses={400},
    )


@FUZZ
@given(data=st.data())
def test_changing_a_recipient_refuses_bad_input(fuzz_world: World, data: st.DataObject) -> None:
    prefix = f"recipient-{fuzz_world.a.recipient.pk}"
    body = data.draw(
        hostile.form_data(
            {
                f"{prefix}-language": hostile.hostile_text(),
                f"{prefix}-events": hostile.hostile_text(),
                f"{prefix}-mode": hostile.hostile_text(),
                "recipient": st.one_of(
                    st.just(str(fuzz_world.a.recipient.pk)), hostile.not_a_number()
                ),
            }
        )
    )
    body["action"] = "update"
    refused(
        fuzz_world.caller("a_manage"),
        "POST",
        _account_path("notifications", fuzz_world),
        body,
        statuses={400, 404},
    )


@FUZZ
@given(token=hostile.path_segment(), method=st.sampled_from(("GET", "POST")))
def test_a_bad_unsubscribe_token_is_a_404(fuzz_world: World, token: str, method: str) -> None:
    path = reverse("returns:unsubscribe", args=[token])
    refused(fuzz_world.visitor(), method, path, statuses={404})


# --- reports and lists: their query parameters ---------------------------------------------------


@FUZZ
@given(value=hostile.hostile_text(), page=hostile.hostile_text())
def test_report_and_list_parameters_fall_back_to_defaults(
    fuzz_world: World, value: str, page: str
) -> None:
    caller = fuzz_world.caller("a_validate")
    for name, query in (
        ("report", {"grain": value}),
        ("policies", {"sort": value, "page": page}),
        ("forecast", {"grain": value}),
    ):
        refused(caller, "GET", _account_path(name, fuzz_world), query, statuses={200})


@FUZZ
@given(file_format=hostile.path_segment())
def test_a_download_in_an_unknown_format_is_a_404(fuzz_world: World, file_format: str) -> None:
    assume(file_format not in ("csv", "xlsx"))
    caller = fuzz_world.caller("a_validate")
    for name in ("report_download", "forecast_download"):
        path = _account_path(name, fuzz_world, file_format)
        refused(caller, "GET", path, {"grain": file_format}, statuses={404})
