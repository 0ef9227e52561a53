"""Review of the link lock-out (issue 9, item 10).

Failures still lock out the user and the address that made them. A customer number that
strangers keep guessing no longer locks out the person whose details are right: while the
number is under attack, anyone linking it confirms a fresh second factor first (asked before
any proof is checked, so the question reveals nothing), and staff get an alert. Nobody who typed
nothing wrong is told their details did not match.
"""

import contextlib
import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.exceptions import LinkLockedOut, LinkNeedsSecondFactor, LinkRefused
from accounts.models import AccountLink, AuditEvent
from outages import gate
from tests.accounts.conftest import CUSTOMER_NUMBER
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
WRONG_POSTAL = {"postal_code": "K1A 0B2"}
UNKNOWN = {"customer_number": "0009999999", "postal_code": "K1A 0B1"}
REFUSED = "These details do not match our records."
Event = AuditEvent.Event


def attempt(user, proofs, ip="203.0.113.1", **kwargs):
    return services.link_account(user=user, ip=ip, **proofs, **kwargs)


def strangers_guess(proofs, times):
    """`times` wrong guesses on one number, each by another user from another address."""
    for n in range(times):
        with pytest.raises(LinkRefused):
            attempt(UserFactory.create(), {**proofs, **WRONG_POSTAL}, ip=f"192.0.2.{n}")


@pytest.fixture
def under_attack(linkable, small_limits):
    strangers_guess(linkable.proofs, small_limits["customer_number"])
    return linkable


# --- the service --------------------------------------------------------------------------------


def test_the_guess_that_reaches_the_number_limit_is_refused_like_any_wrong_guess(
    linkable, small_limits
):
    strangers_guess(linkable.proofs, small_limits["customer_number"] - 1)

    with pytest.raises(LinkRefused) as refused:
        attempt(UserFactory.create(), {**linkable.proofs, **WRONG_POSTAL}, ip="192.0.2.200")

    assert str(refused.value) == REFUSED


def test_a_correct_submitter_is_asked_for_a_second_factor_not_refused(under_attack):
    owner = UserFactory.create()

    with pytest.raises(LinkNeedsSecondFactor) as asked:
        attempt(owner, under_attack.proofs, ip="198.51.100.7")

    assert not isinstance(asked.value, (LinkRefused, LinkLockedOut))
    assert asked.value.until > timezone.now()
    assert not AccountLink.objects.exists()


def test_with_a_fresh_second_factor_the_correct_submitter_links(under_attack):
    owner = UserFactory.create()

    link = attempt(owner, under_attack.proofs, ip="198.51.100.7", second_factor_confirmed=True)

    assert (link.user, link.account) == (owner, under_attack.account)


def test_with_a_fresh_second_factor_a_wrong_guess_is_still_refused_and_counted(
    under_attack, small_limits
):
    guesser = UserFactory.create()
    wrong = {**under_attack.proofs, **WRONG_POSTAL}

    for _ in range(small_limits["user"] - 1):
        with pytest.raises(LinkRefused):
            attempt(guesser, wrong, ip="198.51.100.8", second_factor_confirmed=True)
    with pytest.raises(LinkLockedOut):  # the user's own limit still holds
        attempt(guesser, wrong, ip="198.51.100.8", second_factor_confirmed=True)


@pytest.mark.parametrize(
    "proofs",
    ["right", "wrong postal code", "unknown number"],
)
def test_the_second_factor_is_asked_before_any_proof_is_checked(
    linkable, small_limits, django_assert_num_queries, proofs
):
    """The question is the same, with the same work, whatever was typed: it reveals nothing."""
    typed = {
        "right": linkable.proofs,
        "wrong postal code": {**linkable.proofs, **WRONG_POSTAL},
        "unknown number": UNKNOWN,
    }[proofs]
    strangers_guess(typed, small_limits["customer_number"])
    user = UserFactory.create()
    gate.snapshot()

    # Only the audit row: neither the account nor its contracts are read.
    with django_assert_num_queries(1), pytest.raises(LinkNeedsSecondFactor):
        attempt(user, typed, ip="198.51.100.9")

    event = AuditEvent.objects.filter(actor=user).get()
    assert (event.event, event.account) == (Event.LINK_STEP_UP_REQUIRED, None)


def test_reaching_the_number_limit_alerts_staff_once_per_lock_out(linkable, small_limits):
    strangers_guess(linkable.proofs, small_limits["customer_number"])

    alert = AuditEvent.objects.get(event=Event.LINK_GUESSING_ALERT)
    assert alert.account == linkable.account  # its administrators see it in their audit trail
    assert alert.actor is not None
    assert alert.details["typed_customer_number"] == CUSTOMER_NUMBER
    assert alert.details["failures"] == small_limits["customer_number"]
    assert "K1A 0B2" not in str(alert.details)


def test_an_unknown_number_under_attack_alerts_staff_too(db, small_limits):
    strangers_guess(UNKNOWN, small_limits["customer_number"])

    alert = AuditEvent.objects.get(event=Event.LINK_GUESSING_ALERT)
    assert alert.account is None
    assert alert.details["typed_customer_number"] == "0009999999"


def test_after_the_lock_out_no_second_factor_is_needed(under_attack, settings):
    later = timezone.now() + datetime.timedelta(seconds=settings.PORTAL_LINK_LOCKOUT_SECONDS + 1)

    with time_machine.travel(later):
        link = attempt(UserFactory.create(), under_attack.proofs, ip="198.51.100.7")

    assert link.account == under_attack.account


# --- the pages ----------------------------------------------------------------------------------


def test_a_correct_submitter_with_two_factor_confirms_it_and_is_linked(
    client, under_attack, mfa_user
):
    client.force_login(mfa_user.user)

    asked = client.post(reverse("accounts:link"), under_attack.proofs)

    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not AccountLink.objects.exists()

    # allauth keeps the POST; entering the code replays it.
    confirmed = client.post(asked["Location"], {"code": mfa_user.code()})

    assert confirmed.status_code == 302
    assert confirmed["Location"] == reverse("accounts:detail", args=[under_attack.account.pk])
    assert AccountLink.objects.get().user == mfa_user.user


def test_a_correct_submitter_without_two_factor_is_told_how_to_go_on_not_that_they_were_wrong(
    client, under_attack, user
):
    client.force_login(user)

    response = client.post(reverse("accounts:link"), under_attack.proofs)

    assert response.status_code == 403
    page = response.content.decode()
    assert REFUSED not in page and "did not match" not in page
    assert "two-factor authentication" in page
    assert reverse("mfa_index") in page
    assert "1 877 376-1212" in page
    assert not AccountLink.objects.exists()


def test_the_second_factor_page_speaks_french(client, under_attack, user):
    client.force_login(user)

    response = client.post(reverse("accounts:link"), under_attack.proofs, HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 403
    assert response["Content-Language"] == "fr"


def test_a_user_locked_out_by_their_address_is_not_told_their_details_were_wrong(
    client, linkable, small_limits
):
    """Someone on a shared network typed wrong details; this person typed nothing yet."""
    for n in range(small_limits["ip"]):
        guess = {"customer_number": f"00099999{n:02d}", "postal_code": "K1A 0B1"}
        with contextlib.suppress(LinkRefused, LinkLockedOut):
            attempt(UserFactory.create(), guess, ip="127.0.0.1")
    client.force_login(UserFactory.create())

    response = client.get(reverse("accounts:link"))

    assert response.status_code == 429
    page = response.content.decode()
    assert "did not match" not in page and REFUSED not in page
    assert "Too many attempts" in page
