"""The heavy part of a page, rendered once and served from the cache until what it shows changes.

A page's table of policies, users, invoices or report rows costs most of its time to render and
changes far less often than it is read. `{% fragment %}` (portal/templatetags/fragments.py)
caches it under a key made of:
- its scope's *generation* (a business account's rows, or a user's own list of accounts): a
  token replaced after every committed write in that scope (apps register their models with
  `invalidate_on`; writes that bypass signals, such as bulk updates, call `changed`). The
  generation is read before the page reads its data, and replaced only once the write has
  committed, so a fragment is never stored under a generation older than the data it shows;
- the reader and their session (rights, the CSRF token of the forms inside), the language, the
  page's path and query, the maintenance state (which windows are under way: buttons say why
  they are disabled), and anything the view adds (the day, for pages that count in days).
A fragment lives FRAGMENT_SECONDS at most, which bounds what a missed write could cost.

Only the shared cache is used, never the local fallback (portal/cache.py): a process whose
generation went local would miss writes made through other processes. When Redis fails the
fragment renders uncached.
"""

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string

from portal.cache import without_fallback as cache

logger = logging.getLogger(__name__)
T = TypeVar("T")

FRAGMENT_SECONDS = 600
GENERATION_SECONDS = 24 * 3600  # a lost generation only makes every fragment miss once
FAILURES = (Exception,)  # whatever the cache raises: the page renders uncached, never fails


def account_scope(account_id: int | None) -> str | None:
    return None if account_id is None else _account(account_id)


def _account(account_id: int) -> str:
    return f"account:{account_id}"


def user_scope(user_id: int | None) -> str | None:
    return None if user_id is None else _user(user_id)


def _user(user_id: int) -> str:
    return f"user:{user_id}"


def _generation_key(scope: str) -> str:
    return f"fragments:generation:{scope}"


def generation(scope: str) -> str | None:
    """The scope's current generation (made on first use); None when the cache is down."""
    key = _generation_key(scope)
    try:
        found = cache.get(key)
        if found is None:
            cache.add(key, secrets.token_hex(8), GENERATION_SECONDS)
            found = cache.get(key)
    except FAILURES:
        logger.warning("fragment cache unavailable", exc_info=True)
        return None
    return str(found) if found is not None else None


def changed(*scopes: str | None) -> None:
    """Rows of these scopes changed: their fragments are no longer served.

    Renewed once the write commits, which is what makes it safe; and at once too, so the rest
    of the transaction (a view that redirects to the page, a test) reads fresh rows as well.
    """
    keys = {_generation_key(scope) for scope in scopes if scope is not None}
    if not keys:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _renew(keys)
        return
    _renew(keys)
    # One renewal at commit for the whole transaction, however many rows it writes: later
    # changes join the keys of the callback already registered, while it is still there (a
    # rolled-back savepoint drops it, and then a new one is registered).
    pending: tuple[set[str], int] | None = getattr(connection, _PENDING, None)
    if pending is not None and _still_registered(connection.run_on_commit, pending[1]):
        pending[0].update(keys)
        return
    setattr(connection, _PENDING, (keys, len(connection.run_on_commit)))
    transaction.on_commit(renew_pending)


# On the connection: the keys its transaction changed, and where their callback stands in its
# on-commit list (callbacks are only appended, or filtered in order: checked in constant time).
_PENDING = "portal_fragment_generations"


def _still_registered(callbacks: list[Any], index: int) -> bool:
    return index < len(callbacks) and callbacks[index][1] is renew_pending


def renew_pending() -> None:
    connection = transaction.get_connection()
    pending: tuple[set[str], int] | None = getattr(connection, _PENDING, None)
    setattr(connection, _PENDING, None)
    if pending is not None:
        _renew(pending[0])


def _renew(keys: set[str]) -> None:
    try:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, GENERATION_SECONDS)
    except FAILURES:
        # Fragments of these accounts may show the old rows until they expire: say so loudly.
        logger.error("fragment generations not renewed: %s", keys, exc_info=True)


def invalidate_on(model: type[Model], scopes_of: Callable[[Any], Iterable[str | None]]) -> None:
    """Saving or deleting a `model` row changes the scopes `scopes_of(row)` names."""

    def receiver(sender: type[Model], instance: Model, **kwargs: Any) -> None:
        changed(*scopes_of(instance))

    uid = f"fragments:{model._meta.label}"
    post_save.connect(receiver, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=uid)


def invalidate_on_account_rows(*models: type[Model]) -> None:
    """Models whose rows belong to one business account (an `account` field)."""
    for model in models:
        invalidate_on(model, lambda row: [account_scope(row.account_id)])


def key(request: Any, scope: str, *parts: object) -> str | None:
    """The cache key of a fragment of a page in `scope` for this reader; None: do not cache."""
    session = getattr(request, "session", None)
    if session is None or session.session_key is None:
        return None
    return _key(request, scope, request.user.pk, session.session_key, *parts)


def for_everyone(request: Any, scope: str, *parts: object) -> str | None:
    """The key of a fragment that is the same for every visitor: no reader, no session, no
    CSRF token inside (an unbound public form's fields)."""
    return _key(request, scope, *parts)


def _key(request: Any, scope: str, *parts: object) -> str | None:
    if not settings.PORTAL_FRAGMENT_CACHE:
        return None
    current = generation(scope)
    if current is None:
        return None
    page = (request.path, request.GET.urlencode(), request.LANGUAGE_CODE)
    varying = "|".join(map(str, (*page, _state(), *parts)))
    digest = hashlib.sha256(varying.encode()).hexdigest()[:32]
    return f"fragments:{scope}:{current}:{digest}"


def for_account(request: Any, account_id: int, *parts: object) -> str | None:
    return key(request, _account(account_id), *parts)


def for_account_visitors(request: Any, account_id: int, *parts: object) -> str | None:
    """A public page of the account's, the same for every visitor (see for_everyone)."""
    return for_everyone(request, _account(account_id), *parts)


def for_reader(request: Any, *parts: object) -> str | None:
    """A fragment of the reader's own pages (their list of accounts)."""
    return key(request, _user(request.user.pk), *parts)


def lazy(build: Callable[[], T]) -> T:
    """A context value the fragment alone uses: built on a miss only, at most once."""
    return cast(T, SimpleLazyObject(build))


def lazy_page(request: Any, rows: Callable[[], Any], per_page: int) -> Page:
    """The requested page (?page=) of the rows `rows()` returns, counted and read on a miss
    only; even the query is built then (a scoped query takes about a millisecond to build)."""
    return lazy(lambda: Paginator(rows(), per_page).get_page(request.GET.get("page")))


def _state() -> str:
    """The maintenance state (settings.PORTAL_FRAGMENT_STATE names it: portal imports no app)."""
    path = getattr(settings, "PORTAL_FRAGMENT_STATE", "")
    return str(import_string(path)()) if path else ""


def get(fragment_key: str) -> str | None:
    try:
        found = cache.get(fragment_key)
    except FAILURES:
        return None
    return found if isinstance(found, str) else None


def store(fragment_key: str, html: str) -> None:
    try:
        cache.set(fragment_key, html, FRAGMENT_SECONDS)
    except FAILURES:
        logger.warning("fragment not stored", exc_info=True)
