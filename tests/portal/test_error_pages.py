"""The error pages: a database outage answers 503 with the portal's page and Retry-After, wherever
it is met (a view, or a middleware reading the session); any other fault answers 500 with
templates/500.html. Neither page reads the database."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path, reverse

from portal import errors
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a plain bug")


# This module is the URLconf of the tests marked with it: the portal's, plus a view that fails.
urlpatterns = [path("boom/", _boom), path("", include("portal.urls"))]
handler500 = "portal.errors.server_error"


def _refuse(execute, sql, params, many, context):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: refused")


@contextmanager
def database_down() -> Iterator[None]:
    """Every query fails as it does when PostgreSQL is stopped."""
    with connection.execute_wrapper(_refuse):
        yield


def assert_outage_page(response: Any) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    text = response.content.decode()
    assert "The portal is temporarily unavailable" in text
    assert "Nothing you entered was saved" in text
    assert 'class="portal-header' in text  # the portal's layout, its stylesheet with it
    assert "portal/portal.css" in text
    assert "1 877 376-1212" in text  # the help desk


def test_a_view_that_meets_a_database_outage_answers_503_with_the_page(client):
    # The gate's snapshot is now in the cache; the archive's first page is not (once it is,
    # the page answers without the database).
    assert client.get(reverse("outages:status")).status_code == 200
    url = reverse("outages:archive")  # anonymous; the view counts past windows

    with database_down():
        response = client.get(url)

    assert_outage_page(response)


def test_an_outage_met_before_the_view_answers_the_same_503():
    # Signed in: reading the session in a middleware is the first query, before any view runs.
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())

    with database_down():
        response = client.get(reverse("home"))

    assert_outage_page(response)


@pytest.mark.urls(__name__)
def test_a_plain_fault_answers_500_with_the_portal_page():
    client = Client(raise_request_exception=False)

    response = client.get("/boom/")

    assert response.status_code == 500
    assert "Retry-After" not in response
    text = response.content.decode()
    assert "Something went wrong" in text
    assert "The problem has been recorded" in text
    assert 'class="portal-header' in text


def test_the_error_pages_render_without_the_database(django_assert_num_queries):
    request = RequestFactory().get("/")

    with database_down(), django_assert_num_queries(0):
        try:
            raise RuntimeError("a plain bug")
        except RuntimeError:
            plain = errors.server_error(request)
        try:
            raise OperationalError("the server closed the connection unexpectedly")
        except OperationalError:
            outage = errors.server_error(request)

    assert plain.status_code == 500
    assert b"Something went wrong" in plain.content
    assert_outage_page(outage)


def test_other_database_errors_are_still_faults():
    from django.db import IntegrityError

    request = RequestFactory().get("/")
    try:
        raise IntegrityError("duplicate key")
    except IntegrityError:
        response = errors.server_error(request)

    assert response.status_code == 500
