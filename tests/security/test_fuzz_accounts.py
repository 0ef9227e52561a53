"""Bad input, generated, on the accounts side: sign-up and sign-in (allauth), account linking,
the contacts' removal links, reports of suspicious activity, adding a delegated user and
changing rights, the default right, rejecting a request, and the pages' query parameters.

Each example must be refused (the form again with its errors, or a clear 4xx), change no table
and echo nothing unescaped (tests/security/fuzzing.py). Inputs that a form may legitimately
accept (a description of suspicious activity is free text) are either kept out of the strategy
or checked by their own property: stored as typed and shown escaped.
"""

from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import assume, given
from hypothesis import strategies as st

from accounts import removal_links
from accounts.forms import WAY_COPY, WAY_CUSTOM
from accounts.models import AuditEvent, Investigation
from accounts.rightsets import Profile
from tests.accounts.delegation_factories import PreRegistrationFactory
from tests.security import hostile
from tests.security.fuzzing import BACK_WITH_ERROR, FEW, FORM_ERROR, FUZZ, refused
from tests.security.world import Caller, World

pytestmark = pytest.mark.django_db

# A refused link attempt is audited by design (LINK_REFUSED, and LINK_STEP_UP_REQUIRED when the
# typed number is under attack: accounts.services.linking), so support sees guessing; those rows
# are the only change such a request may make.
LINK_REFUSAL_EVENTS = {AuditEvent.Event.LINK_REFUSED, AuditEvent.Event.LINK_STEP_UP_REQUIRED}
# A refused removal link is audited too (accounts.services.linking.remove_link_with_token).
REMOVAL_REFUSAL = {AuditEvent.Event.REMOVAL_LINK_REFUSED}


def _too_long(limit: int) -> st.SearchStrategy[str]:
    return st.tuples(hostile.hostile_text(), st.just("x" * (limit + 1))).map("".join)


def refused_text(limit: int) -> st.SearchStrategy[str]:
    """Text a required CharField of `limit` characters must refuse: blank, with NUL, too long."""
    return st.one_of(
        st.sampled_from(("", " ", "\t\r\n", "\u00a0\u2003")),
        st.tuples(hostile.hostile_text(), st.just("\x00"), hostile.hostile_text()).map("".join),
        _too_long(limit),
    )


def _tokens(fuzz_world: World) -> st.SearchStrategy[str]:
    """Removal tokens that name no sendable notice: random, hostile, or a genuine one tampered."""
    genuine = removal_links.make_token(fuzz_world.a.notice)
    tampered = st.tuples(
        st.integers(min_value=0, max_value=len(genuine) - 1), hostile.hostile_text(max_parts=1)
    ).map(lambda cut: genuine[: cut[0]] + cut[1] + genuine[cut[0] + 1 :])
    token = st.one_of(hostile.path_segment(), tampered, st.just(genuine + "x"))
    # A path segment: no "/" (the URL would not resolve); the rest is URL-quoted by reverse().
    return token.map(lambda text: text.replace("/", "")).filter(
        lambda text: text not in ("", genuine)
    )


# --- allauth: signing up and in ------------------------------------------------------------------


@FUZZ
@given(
    data=hostile.form_data(
        {
            "email": hostile.bad_email(),
            "password1": hostile.hostile_text(),
            "password2": hostile.hostile_text(),
        }
    )
)
def test_sign_up_refuses_bad_input(fuzz_world: World, data: dict[str, Any]) -> None:
    assume(not isinstance(data.get("email"), str) or hostile._invalid_email(data["email"]))
    refused(fuzz_world.visitor(), "POST", reverse("account_signup"), data, statuses=FORM_ERROR)


@FUZZ
@given(
    data=hostile.form_data({"login": hostile.hostile_text(), "password": hostile.hostile_text()})
)
def test_sign_in_refuses_bad_input(fuzz_world: World, data: dict[str, Any]) -> None:
    refused(fuzz_world.visitor(), "POST", reverse("account_login"), data, statuses=FORM_ERROR)


# --- linking an account: customer number, postal code, contract number ----------------------------


@FUZZ
@given(
    data=hostile.form_data(
        {
            "customer_number": hostile.not_a_number(),
            "postal_code": hostile.hostile_text(),
            "contract_number": hostile.not_a_number(),
        }
    )
)
def test_linking_refuses_bad_proofs(fuzz_world: World, data: dict[str, Any]) -> None:
    refused(
        fuzz_world.caller("no_link"),
        "POST",
        reverse("accounts:link"),
        data,
        ignore=["accounts.AuditEvent"],
        audited=LINK_REFUSAL_EVENTS,
    )


@FUZZ
@given(digits=st.sampled_from(hostile.DIGITS_LOOK_ALIKE), noise=hostile.hostile_text(max_parts=1))
def test_look_alike_digits_never_pass_for_a_customer_number(
    fuzz_world: World, digits: str, noise: str
) -> None:
    """ "١٢٣…" or "¹²³…" are not the account's number, even when the rest of the proofs match."""
    account = fuzz_world.a.account
    data = {
        "customer_number": digits,
        "postal_code": account.postal_code + noise,
        "contract_number": fuzz_world.a.contract.number,
    }
    refused(
        fuzz_world.caller("no_link"),
        "POST",
        reverse("accounts:link"),
        data,
        ignore=["accounts.AuditEvent"],
        audited=LINK_REFUSAL_EVENTS,
    )


# --- the contact's removal link ------------------------------------------------------------------


@FUZZ
@given(data=st.data(), method=st.sampled_from(("GET", "POST")))
def test_a_bad_removal_token_is_a_404_and_removes_nobody(
    fuzz_world: World, data: st.DataObject, method: str
) -> None:
    token = data.draw(_tokens(fuzz_world))
    for name in ("accounts:removal", "accounts:removal_report", "accounts:removal_report_done"):
        if method == "POST" and name.endswith("_done"):
            continue
        path = reverse(name, args=[token])
        body = {"description": "Orders I never placed"} if method == "POST" else None
        refused(fuzz_world.visitor(), method, path, body, statuses={404}, audited=REMOVAL_REFUSAL)


@FUZZ
@given(description=refused_text(4000))
def test_a_contact_s_report_refuses_a_bad_description(fuzz_world: World, description: str) -> None:
    token = removal_links.make_token(fuzz_world.a.notice)
    path = reverse("accounts:removal_report", args=[token])
    refused(fuzz_world.visitor(), "POST", path, {"description": description}, statuses={400})


@FUZZ
@given(description=refused_text(4000))
def test_a_user_s_report_refuses_a_bad_description(fuzz_world: World, description: str) -> None:
    path = reverse("accounts:report", args=[fuzz_world.a.account.pk])
    refused(fuzz_world.caller("a_consult"), "POST", path, {"description": description})


@FUZZ
@given(description=hostile.markup_text().filter(lambda text: "\x00" not in text))
def test_a_report_in_markup_is_kept_as_typed_and_shown_escaped(
    fuzz_world: World, description: str
) -> None:
    """Free text is accepted: stored exactly as sent (stripped), and never run as markup."""
    caller = fuzz_world.caller("a_consult")
    account = fuzz_world.a.account
    assume(description.strip() and len(description.strip()) <= 4000)
    with transaction.atomic():
        response = caller.request(
            "POST", reverse("accounts:report", args=[account.pk]), data={"description": description}
        )
        assert response.status_code == 302
        filed = Investigation.objects.filter(account=account).latest("pk")
        assert filed.description == description.strip()
        page = caller.client.get(response["Location"], REMOTE_ADDR="198.51.100.23")
        assert page.status_code in (200, 404)
        hostile.assert_escaped(page.content.decode(), description)
        transaction.set_rollback(True)


# --- an administrator's users: adding one, changing rights, the default right ------------------


def _not_in(choices: set[str]) -> st.SearchStrategy[str]:
    return hostile.hostile_text().filter(lambda text: text.strip() not in choices)


def _add_person(world: World) -> Any:
    return PreRegistrationFactory.create(account=world.a.account, email="")


def _administrator(world: World) -> Caller:
    return world.caller("a_administrator")


def _path(name: str, world: World, *more: int) -> str:
    return reverse(f"accounts:{name}", args=[world.a.account.pk, *more])


@FUZZ
@given(data=hostile.form_data({"person": hostile.not_a_number()}))
def test_adding_a_user_refuses_a_person_not_offered(fuzz_world: World, data: dict) -> None:
    refused(
        _administrator(fuzz_world),
        "POST",
        _path("add_user", fuzz_world),
        data,
        statuses={400},
        before_request=lambda: _add_person(fuzz_world),
    )


def _picked(world: World) -> None:
    person = _add_person(world)
    response = _administrator(world).request(
        "POST", _path("add_user", world), data={"person": person.pk}
    )
    assert response.status_code == 302, response.status_code


@FUZZ
@given(data=hostile.form_data({"email": hostile.bad_email(), "language": _not_in({"en", "fr"})}))
def test_adding_a_user_refuses_bad_details(fuzz_world: World, data: dict) -> None:
    refused(
        _administrator(fuzz_world),
        "POST",
        _path("add_details", fuzz_world),
        data,
        statuses={400},
        before_request=lambda: _picked(fuzz_world),
    )


def _detailed(world: World) -> None:
    _picked(world)
    response = _administrator(world).request(
        "POST", _path("add_details", world), data={"email": "new@fuzz.example", "language": "en"}
    )
    assert response.status_code == 302, response.status_code


WAYS = {WAY_COPY, WAY_CUSTOM, *Profile.values}


@FUZZ
@given(
    data=hostile.form_data(
        {"way": st.one_of(_not_in(WAYS), st.just(WAY_COPY)), "copy_from": hostile.not_a_number()}
    ),
    change=st.booleans(),
)
def test_choosing_how_to_give_rights_refuses_bad_choices(
    fuzz_world: World, data: dict, change: bool
) -> None:
    if change:  # changing the bystander's rights: no earlier step
        path, prepare = _path("change_rights", fuzz_world, fuzz_world.a.bystander.pk), None
    else:
        path, prepare = _path("add_rights", fuzz_world), lambda: _detailed(fuzz_world)
    refused(_administrator(fuzz_world), "POST", path, data, statuses={400}, before_request=prepare)


LEVEL_VALUES = {"10", "20", "30"}


@FUZZ
@given(values=st.lists(st.one_of(hostile.not_a_number(), _not_in(LEVEL_VALUES)), max_size=3))
def test_custom_rights_refuse_what_is_no_level(fuzz_world: World, values: list[str]) -> None:
    contract = fuzz_world.a.contract
    data = {"whole": values, f"contract_{contract.pk}": values, "contract_999999999": "30"}

    def custom_chosen() -> None:
        _detailed(fuzz_world)
        response = _administrator(fuzz_world).request(
            "POST", _path("add_rights", fuzz_world), data={"way": WAY_CUSTOM}
        )
        assert response.status_code == 302, response.status_code

    refused(
        _administrator(fuzz_world),
        "POST",
        _path("add_custom", fuzz_world),
        data,
        statuses={400},
        before_request=custom_chosen,
    )


@FUZZ
@given(data=hostile.form_data({"level": st.one_of(hostile.not_a_number(), st.just("30"))}))
def test_the_default_right_refuses_bad_levels(fuzz_world: World, data: dict) -> None:
    refused(
        _administrator(fuzz_world),
        "POST",
        _path("default_right", fuzz_world),
        data,
        statuses=BACK_WITH_ERROR,
    )


@FUZZ
@given(reason=refused_text(1000))
def test_rejecting_a_request_refuses_a_bad_reason(fuzz_world: World, reason: str) -> None:
    path = _path("reject_request", fuzz_world, fuzz_world.a.request.pk)
    refused(fuzz_world.caller("a_validate"), "POST", path, {"reason": reason}, statuses={400})


# --- query parameters and ids of the signed-in pages -------------------------------------------


@FUZZ
@given(page=hostile.hostile_text(), name=st.sampled_from(("users", "audit", "to_validate")))
def test_listing_pages_ignore_a_bad_page_number(fuzz_world: World, page: str, name: str) -> None:
    refused(
        _administrator(fuzz_world), "GET", _path(name, fuzz_world), {"page": page}, statuses={200}
    )


@FEW
@given(account_id=hostile.huge_integer().filter(lambda n: n >= 0))
def test_an_id_out_of_range_is_a_404(fuzz_world: World, account_id: int) -> None:
    for name in ("detail", "users", "report"):
        path = reverse(f"accounts:{name}", args=[account_id])
        refused(_administrator(fuzz_world), "GET", path, statuses={404})


# --- oversized bodies and files, on every kind of form -------------------------------------------


def _form_pages(world: World) -> list[tuple[Caller, str]]:
    return [
        (world.visitor(), reverse("account_signup")),
        (world.caller("no_link"), reverse("accounts:link")),
        (world.caller("a_consult"), reverse("accounts:report", args=[world.a.account.pk])),
        (world.visitor(), reverse("returns:direct_link", args=[world.a.policy.link_token])),
        (world.caller("a_manage"), reverse("returns:policy_create", args=[world.a.account.pk])),
    ]


@pytest.mark.parametrize("shape", ["huge field", "too many fields", "huge file"])
def test_an_oversized_body_is_refused_on_every_form(fuzz_world: World, shape: str) -> None:
    """Over DATA_UPLOAD_MAX_MEMORY_SIZE or DATA_UPLOAD_MAX_NUMBER_FIELDS: a 400, nothing read.
    A file nobody asked for is not kept: the form answers as if it were not there."""
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    bodies: dict[str, dict[str, Any]] = {
        "huge field": {"customer_number": "9" * big, "description": "<script>alert(1)</script>"},
        "too many fields": {
            f"f{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)
        },
        "huge file": {
            "upload": SimpleUploadedFile("evil.html", b"<script>alert(1)</script>" * 200_000),
            "customer_email": "<script>alert(1)</script>",
        },
    }
    data = bodies[shape]
    statuses = {400} if shape != "huge file" else {200, 400}
    for caller, path in _form_pages(fuzz_world):
        refused(caller, "POST", path, data, statuses=statuses)
