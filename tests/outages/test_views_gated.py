"""The gate at the door: the decorator, the mixin, and allauth's views through the middleware."""

import datetime
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from outages.features import Feature
from outages.models import Interruption
from portal.formatting import EASTERN
from tests.outages.factories import HOUR, closing

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.outages.urls")]


def assert_closed(response, interruption):
    assert response.status_code == 503
    retry_after = int(response["Retry-After"])
    remaining = (interruption.ends_at - timezone.now()).total_seconds()
    assert remaining - 5 <= retry_after <= remaining + 1
    assert b"Temporarily unavailable for maintenance" in response.content


@pytest.mark.parametrize("feature", list(Feature))
def test_decorated_view_answers_503_during_its_interruption(
    client, django_capture_on_commit_callbacks, feature
):
    url = reverse(f"gated-{feature}")
    assert client.post(url).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):  # staff save: the gate hears of it
        interruption = closing(feature)
    if feature == Feature.SIGN_IN:
        # The whole portal shuts for a sign-in interruption: the middleware answers first.
        assert client.get(url).status_code == 503
        return
    assert_closed(client.post(url), interruption)


def test_decorated_view_opens_when_the_interruption_has_ended(client):
    closing(
        Feature.ONLINE_PAYMENT,
        starts_at=timezone.now() - 2 * HOUR,
        ends_at=timezone.now() - HOUR,
    )

    assert client.post(reverse("gated-online_payment")).status_code == 200


def test_read_only_interruption_lets_reading_through_and_refuses_writing(client):
    interruption = closing(Feature.ONLINE_PAYMENT, scope=Interruption.Scope.WRITES)
    url = reverse("gated-class")

    assert client.get(url).content == b"invoice"
    response = client.post(url)
    assert_closed(response, interruption)
    assert b"You can still view this information" in response.content


def test_a_view_marked_as_writing_refuses_even_a_get(client):
    closing(Feature.INVOICES, scope=Interruption.Scope.WRITES)

    assert client.get(reverse("gated-write")).status_code == 503


def test_signup_answers_503_with_what_and_until_when_in_english(client):
    until = timezone.now().astimezone(EASTERN).replace(minute=0, second=0, microsecond=0)
    interruption = closing(
        Feature.REGISTRATION, starts_at=until - 2 * HOUR, ends_at=until + 3 * HOUR
    )

    response = client.get(reverse("account_signup"))

    assert_closed(response, interruption)
    text = response.content.decode()
    end = until + 3 * HOUR
    hour = {0: "midnight", 12: "noon"}.get(end.hour, end.strftime("%-I %p").lower())
    hour = hour.replace("am", "a.m.").replace("pm", "p.m.")
    assert f"Registration is unavailable until {end:%B} {end.day} at {hour} ET." in text
    assert "New profiles cannot be created." in text


def test_signup_page_in_french(french):
    until = timezone.now().astimezone(EASTERN).replace(minute=0, second=0, microsecond=0)
    closing(Feature.REGISTRATION, starts_at=until - 2 * HOUR, ends_at=until + 3 * HOUR)

    response = french.get(reverse("account_signup"))

    assert response.status_code == 503
    text = html.unescape(response.content.decode())
    end = until + 3 * HOUR
    hour = "minuit" if end.hour == 0 else "midi" if end.hour == 12 else f"{end.hour} h"
    assert re.search(rf"jusqu’au (1er|{end.day}) \w+, {hour} \(HE\)", text)  # noqa: RUF001
    assert "Il n'est pas possible de créer de nouveaux profils." in text
    assert 'lang="fr-CA"' in text


def test_signup_form_submission_is_refused_and_creates_nothing(client, django_user_model):
    closing(Feature.REGISTRATION)

    response = client.post(
        reverse("account_signup"),
        {"email": "new@business.example", "password1": "Xy-12345678", "password2": "Xy-12345678"},
    )

    assert response.status_code == 503
    assert not django_user_model.objects.filter(email="new@business.example").exists()


def test_signup_works_when_registration_is_open(client):
    closing(
        Feature.REGISTRATION, starts_at=timezone.now() + HOUR, ends_at=timezone.now() + 2 * HOUR
    )

    response = client.get(reverse("account_signup"))

    assert response.status_code == 200
    assert b'name="password1"' in response.content


@pytest.mark.parametrize(
    ("url_name", "feature"),
    [
        ("account_reset_password", Feature.PASSWORD_RECOVERY),
        ("account_signup", Feature.REGISTRATION),
        ("account_login", Feature.SIGN_IN),
    ],
)
def test_allauth_views_are_gated_by_url_name(client, url_name, feature):
    closing(feature)

    assert client.get(reverse(url_name)).status_code == 503


def test_profile_changes_interruption_keeps_the_e_mail_page_readable_but_not_changeable(
    client, user
):
    closing("profile_changes", scope="writes")
    client.force_login(user)

    assert client.get(reverse("account_email")).status_code == 200
    refused = client.post(reverse("account_email"), {"email": "new@example.org", "action_add": ""})
    assert refused.status_code == 503
    assert "Business profile changes" in refused.content.decode()
    assert not user.emailaddress_set.filter(email="new@example.org").exists()
    assert client.get(reverse("account_change_password")).status_code == 200


def test_sign_in_interruption_shows_non_staff_the_maintenance_page_on_home(client, user):
    closing(Feature.SIGN_IN)
    client.force_login(user)

    response = client.get(reverse("home"))

    assert response.status_code == 503
    assert b"Sign-in is unavailable" in response.content


def test_staff_keep_the_admin_during_a_sign_in_interruption(client, mfa_staff_user):
    closing(Feature.SIGN_IN)
    client.force_login(mfa_staff_user.user)

    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:outages_maintenancewindow_changelist")).status_code == 200
    assert client.get(reverse("home")).status_code == 503


def test_staff_may_reach_the_sign_in_page_on_their_way_to_the_admin(client):
    closing(Feature.SIGN_IN)
    admin_index = reverse("admin:index")

    assert client.get(reverse("account_login"), {"next": admin_index}).status_code == 200
    assert client.get(reverse("account_login")).status_code == 503


@pytest.mark.parametrize(
    "url_name",
    ["outages:status", "outages:archive", "outages:ical", "outages:atom", "outages:json"],
)
def test_status_pages_and_feeds_stay_open_during_a_sign_in_interruption(client, url_name):
    closing(Feature.SIGN_IN)

    assert client.get(reverse(url_name)).status_code == 200


def test_banner_announces_the_window_on_every_page(client):
    closing(Feature.REGISTRATION, title_en="Big upgrade")

    response = client.get(reverse("account_login"))

    assert b"Planned maintenance:" in response.content
    assert b"Big upgrade" in response.content
    assert reverse("outages:status").encode() in response.content


def test_the_banner_follows_a_staff_change_at_once(client, django_capture_on_commit_callbacks):
    """The banner is rendered once per process for each set of windows: a new or renamed
    window is another set, so the next page shows it."""
    with django_capture_on_commit_callbacks(execute=True):
        window = closing(Feature.REGISTRATION, title_en="Big upgrade").window
    assert b"Big upgrade" in client.get(reverse("account_login")).content

    with django_capture_on_commit_callbacks(execute=True):
        window.title_en = "Bigger upgrade"
        window.save()
    page = client.get(reverse("account_login")).content
    assert b"Bigger upgrade" in page and b"Big upgrade<" not in page


def test_the_banner_speaks_the_readers_language(client):
    closing(Feature.REGISTRATION, title_en="Big upgrade", title_fr="Grande mise à niveau")
    assert b"Big upgrade" in client.get(reverse("account_login")).content

    french = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Entretien planifié" in french and "Grande mise à niveau" in french


def test_the_banner_writes_the_year_once_it_is_no_longer_the_current_one(client, time_machine):
    time_machine.move_to(datetime.datetime(2026, 12, 30, 12, 0, tzinfo=datetime.UTC))
    closing(
        Feature.REGISTRATION,
        starts_at=datetime.datetime(2026, 12, 31, 20, 0, tzinfo=datetime.UTC),
        ends_at=datetime.datetime(2027, 1, 2, 20, 0, tzinfo=datetime.UTC),
    )
    assert b"2026" not in banner_of(client.get(reverse("account_login")).content)

    time_machine.move_to(datetime.datetime(2027, 1, 1, 12, 0, tzinfo=datetime.UTC))
    assert b"2026" in banner_of(client.get(reverse("account_login")).content)


def banner_of(page: bytes) -> bytes:
    start = page.index(b"maintenance-banner")
    return page[start : page.index(b"</div>", start)]
