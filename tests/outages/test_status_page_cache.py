"""A signed-out visitor's status page and archive come whole from the cache, each visitor with a
CSRF token of their own for the header's language form."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from outages.views import CSRF_SLOT, STATUS_PAGE_SIZE
from tests.factories import UserFactory
from tests.outages.factories import HOUR, MaintenanceWindowFactory, closing

pytestmark = pytest.mark.django_db

PAGES = ["outages:status", "outages:archive"]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NEXT = re.compile(r'name="next" value="([^"]*)"')


def language_form_next(page: str) -> str:
    match = NEXT.search(page)
    assert match, "the header's language form says nowhere to come back to"
    return match.group(1)


def language_form_token(page: str) -> str:
    match = TOKEN.search(page)
    assert match, "the header's language form has no CSRF token"
    return match.group(1)


@pytest.mark.parametrize("name", PAGES)
def test_a_cached_page_costs_no_query_and_no_rendering(client, django_assert_num_queries, name):
    first = client.get(reverse(name)).content.decode()
    with django_assert_num_queries(0):
        again = Client().get(reverse(name))
    assert again.status_code == 200
    # The same page but for the token: the slot never reaches a visitor.
    assert TOKEN.sub("", again.content.decode()) == TOKEN.sub("", first)
    assert CSRF_SLOT not in first and CSRF_SLOT not in again.content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_each_visitor_switches_language_with_a_token_of_their_own(name):
    visitors = [Client(enforce_csrf_checks=True) for _ in range(2)]
    tokens = [
        language_form_token(visitor.get(reverse(name)).content.decode()) for visitor in visitors
    ]
    assert tokens[0] != tokens[1]

    for visitor, token in zip(visitors, tokens, strict=True):
        response = visitor.post(
            reverse("set_language"),
            {"language": "fr", "next": reverse(name), "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302
        assert visitor.get(reverse(name)).headers["Content-Language"] == "fr"


def test_another_visitors_token_is_refused():
    """The cached copy carries nobody's token: one visitor's token is no good to another."""
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    token = language_form_token(first.get(reverse("outages:status")).content.decode())
    second.get(reverse("outages:status"))
    response = second.post(
        reverse("set_language"), {"language": "fr", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 403


def test_each_language_and_page_is_cached_apart(client):
    for _ in range(STATUS_PAGE_SIZE + 1):
        MaintenanceWindowFactory.create()
    english = client.get(reverse("outages:status")).content.decode()
    french = client.get(reverse("outages:status"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    second = client.get(reverse("outages:status") + "?page=2").content.decode()
    assert "Service interruptions" in english and "Interruptions de service" in french
    assert "Later" in english and "Sooner" not in english
    assert "Sooner" in second


def test_the_language_form_comes_back_to_the_page_asked_whatever_its_spelling(client):
    for _ in range(STATUS_PAGE_SIZE + 1):
        MaintenanceWindowFactory.create()
    status = reverse("outages:status")
    assert language_form_next(client.get(status + "?page=abc").content.decode()) == status
    assert language_form_next(client.get(status).content.decode()) == status
    spelled = client.get(status + "?page=02&utm_source=mail").content.decode()
    assert language_form_next(spelled) == f"{status}?page=2"


def test_a_signed_in_visitor_gets_their_own_header_not_the_cached_one(client):
    client.get(reverse("outages:status"))
    member = UserFactory()
    client.force_login(member)
    page = client.get(reverse("outages:status")).content.decode()
    assert member.email in page and "Sign out" in page
    assert "Create a profile" not in page

    # ...and the signed-out copy never carries someone's header.
    assert member.email not in Client().get(reverse("outages:status")).content.decode()


def test_an_interruption_starting_shows_in_the_header_at_once(
    client, time_machine, django_capture_on_commit_callbacks
):
    # Well within the page's cache lifetime: the window's start alone must change the copy.
    starts_at = timezone.now() + datetime.timedelta(seconds=10)
    with django_capture_on_commit_callbacks(execute=True):
        closing("sign_in", starts_at=starts_at, ends_at=starts_at + HOUR)
    sign_in = f'href="{reverse("account_login")}"'
    assert sign_in in client.get(reverse("outages:status")).content.decode()

    time_machine.move_to(starts_at + datetime.timedelta(seconds=5))
    page = client.get(reverse("outages:status")).content.decode()
    assert sign_in not in page
    assert "Unavailable for maintenance until" in page


def test_a_message_waiting_is_shown_to_its_visitor_only(client, user, password):
    client.get(reverse("outages:status"))  # the signed-out copy is cached
    client.force_login(user)
    client.post(reverse("account_logout"))
    page = client.get(reverse("outages:status")).content.decode()
    assert "You have signed out." in page
    assert "You have signed out." not in Client().get(reverse("outages:status")).content.decode()
    assert "You have signed out." not in client.get(reverse("outages:status")).content.decode()
