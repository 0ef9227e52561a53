"""Cached page fragments (portal.fragments): served again only while nothing they show changed.

Each test reads a page twice around a change made the way the portal makes it (a service, a
model save, a bulk update through the service that does it, a maintenance window, the reader's
language) and checks the second read shows the change; and that a hit skips the queries.
"""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import BusinessAccount, Right
from accounts.rightsets import RightSet
from accounts.services import users as user_services
from outages.features import Feature
from outages.models import Interruption
from portal import fragments
from returns.models import ReturnPolicy
from tests.accounts.link_factories import AccountLinkFactory
from tests.outages.factories import closing
from tests.returns.factories import PolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def reader(client: Client, account: BusinessAccount, right: Right) -> Client:
    client.force_login(AccountLinkFactory.create(account=account, right=right).user)
    return client


def policies_page(client: Client, account: BusinessAccount) -> str:
    response = client.get(reverse("returns:policies", args=[account.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_second_read_is_served_from_the_cache_without_the_pages_queries(client):
    policy = PolicyFactory.create(name="Spring returns")
    reader(client, policy.account, Right.VALIDATE)
    policies_page(client, policy.account)

    with CaptureQueriesContext(connection) as first:
        cache.clear()
        assert "Spring returns" in policies_page(client, policy.account)
    with CaptureQueriesContext(connection) as second:
        assert "Spring returns" in policies_page(client, policy.account)

    assert len(second) < len(first)
    assert not any("returns_returnpolicy" in query["sql"] for query in second.captured_queries)


def test_saving_a_row_of_the_account_shows_at_once(client):
    policy = PolicyFactory.create(name="Spring returns")
    reader(client, policy.account, Right.VALIDATE)
    policies_page(client, policy.account)

    policy.name = "Autumn returns"
    policy.save()

    page = policies_page(client, policy.account)
    assert "Autumn returns" in page
    assert "Spring returns" not in page


def test_a_change_elsewhere_leaves_the_fragment_cached(client):
    policy = PolicyFactory.create(name="Spring returns")
    other = PolicyFactory.create(name="Their returns")
    reader(client, policy.account, Right.VALIDATE)
    policies_page(client, policy.account)
    ReturnPolicy.objects.filter(pk=policy.pk).update(name="Changed behind the portal's back")

    other.name = "Their autumn returns"
    other.save()

    # The update bypassed every service (no signal): only another account's row was saved.
    assert "Spring returns" in policies_page(client, policy.account)


def test_rights_rewritten_in_bulk_show_at_once_on_the_users_page(client):
    account = BusinessAccount.objects.get(pk=PolicyFactory.create().account_id)
    admin = AccountLinkFactory.create(account=account, right=Right.VALIDATE, is_administrator=True)
    colleague = AccountLinkFactory.create(account=account, right=Right.CONSULT)
    client.force_login(admin.user)
    users = reverse("accounts:users", args=[account.pk])
    row = "Whole account</span>: Consult"
    assert row + "</li>" in client.get(users).content.decode()

    # _write_grants deletes and bulk-creates the grants: no post_save for the new ones.
    user_services._write_grants(colleague, RightSet({None: Right.VALIDATE}))

    assert row + ", manage and validate</li>" in client.get(users).content.decode()


def test_each_reader_gets_their_own_fragment(client):
    policy = PolicyFactory.create(name="Spring returns")
    reader(client, policy.account, Right.VALIDATE)
    assert "Deactivate" in policies_page(client, policy.account)

    other = Client()
    reader(other, policy.account, Right.CONSULT)

    assert "Deactivate" not in policies_page(other, policy.account)


def test_the_language_is_part_of_the_key(client, settings):
    policy = PolicyFactory.create()
    reader(client, policy.account, Right.VALIDATE)
    assert "Deactivate" in policies_page(client, policy.account)

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    assert "Désactiver" in policies_page(client, policy.account)


def test_a_maintenance_window_starting_changes_the_buttons_at_once(
    client, django_capture_on_commit_callbacks
):
    policy = PolicyFactory.create()
    reader(client, policy.account, Right.VALIDATE)
    assert 'disabled aria-describedby="policies-down"' not in policies_page(client, policy.account)

    with django_capture_on_commit_callbacks(execute=True):  # the gate learns of it on commit
        closing(Feature.RETURN_POLICIES, scope=Interruption.Scope.WRITES)

    assert 'disabled aria-describedby="policies-down"' in policies_page(client, policy.account)


def test_the_generation_is_renewed_again_once_the_write_commits(
    django_capture_on_commit_callbacks,
):
    scope = "account:42"
    before = fragments.generation(scope)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        fragments.changed(scope)
        during = fragments.generation(scope)
        # Renewed at once for the rest of the transaction; a reader elsewhere that stores
        # old rows under it now is outdated by the renewal at commit.
        assert during not in (None, before)

    assert fragments.generation(scope) not in (None, before, during)


def test_without_a_cache_the_page_renders_uncached(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    policy = PolicyFactory.create(name="Spring returns")
    reader(client, policy.account, Right.VALIDATE)

    assert fragments.generation("account:1") is None
    assert "Spring returns" in policies_page(client, policy.account)
    policy.name = "Autumn returns"
    policy.save()
    assert "Autumn returns" in policies_page(client, policy.account)


def test_a_transaction_renews_all_it_changed_once_at_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        fragments.changed("account:1")
        fragments.changed("account:2", "user:3")
        held = {scope: fragments.generation(scope) for scope in ("account:1", "user:3")}

    assert len(callbacks) == 1
    callbacks[0]()
    assert all(fragments.generation(scope) != held[scope] for scope in held)


def test_the_direct_return_form_is_shared_by_visitors_but_each_keeps_their_csrf_token():
    policy = PolicyFactory.create()
    url = reverse("returns:direct_link", args=[policy.link_token])
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)

    pages = [visitor.get(url).content.decode() for visitor in (first, second)]

    tokens = [page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0] for page in pages]
    assert tokens[0] != tokens[1]
    assert all('name="order_reference"' in page for page in pages)
    # A refused post shows the visitor's own answers and errors, never the shared empty form.
    refused = first.post(url, {"csrfmiddlewaretoken": tokens[0], "customer_name": "Ann <b>"})
    assert refused.status_code == 400
    assert "Ann &lt;b&gt;" in refused.content.decode()


def test_a_rolled_back_savepoint_does_not_lose_the_renewal_of_later_changes(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            fragments.changed("account:1")  # its callback goes with the savepoint
            raise RuntimeError
        fragments.changed("account:2")
        held = fragments.generation("account:2")

    assert len(callbacks) == 1
    callbacks[0]()
    assert fragments.generation("account:2") != held
