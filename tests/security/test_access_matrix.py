"""Access control, generated: every URL of the resolver, by every kind of caller, by GET and POST.

`TABLE` says, in one line per URL, who may do what. For a signed-in page: the reach a caller needs
on the account (SIGNED: signing in is enough; ANY: any grant of the account, a contract's too;
WHOLE: a grant on the whole account; ADMIN: its administration), then for GET and for POST the
minimum right and the outcome (X: the method is not allowed, 405), then from which right a
request may change data (`acts`) and whether a POST asks a fresh second factor before anything
else (`confirm`). A public URL gives its outcome for everyone; the admin's few representative
pages give what staff with two factors get. allauth's pages are one group, known by the prefix
of their names. A URL the resolver has and the table has not fails
`test_every_url_is_classified`, and so does a row whose URL is gone.

Each caller's expected outcome is derived from the row by these rules, for every cell:

- an unfinished first sign-in goes to its next step from everywhere but the always-open URLs
  (portal.open_urls), before anything else;
- a public URL answers the same to everyone; any other sends the anonymous to sign in;
- a signed-in caller gets 405 for a method the URL does not take, before any right is asked;
- a caller without the reach and the right gets 404: another business's account or object is
  never a 403 or a 200 (`test_another_business_s_object_is_404` puts B's ids in A's URLs, and
  A's in B's);
- the admin sends customers to its sign-in page (which refuses them: 403) and staff without
  two-factor to set it up.

Every POST carries a valid CSRF token and an empty body; `test_a_post_without_csrf_token_is_
refused` sends none (403 everywhere but the two documented exempt endpoints). A request that may
not act (refused, or a caller below the row's `acts`) changes nothing: the main tables are
compared before and after. Each public endpoint is rate-limited, cached, authenticated by a
signature, or does no database work: `PROTECTION` says which, checked by behaviour; the ones that
are none of these are known gaps (strict xfail, so fixing one shows).

The world (tests/security/world.py) is built once per module in a transaction rolled back at its
end; each test runs in a savepoint of it, and each request that may act in its own savepoint.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.mfa.utils import is_mfa_enabled
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import rights
from accounts.middleware import ALWAYS_ALLOWED, PASSWORD_STEP, SECOND_FACTOR_STEP
from accounts.rights import Right
from portal.open_urls import ALWAYS_OPEN_URL_NAMES
from tests.billing import fakes
from tests.security.world import ADMIN, ANY, SIGNED, WHOLE, Caller, World, build

C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE
ANYONE = 0  # `acts` of a public URL: whoever it answers may change data

# Outcome classes: a status class, or where a redirect goes.
OK = "200"  # any 2xx
MOVED = "302"  # to another page of the portal (after a POST, or back to a flow's first step)
BAD = "400"  # refused without change: the (empty) body is invalid
UNSIGNED = "401"
FORBIDDEN = "403"
MISSING = "404"
NOT_ALLOWED = "405"
TOO_MANY = "429"
LOGIN = "login"  # to sign in: allauth's page, or the admin's (which refuses customers)
FIRST = "first"  # to the next step of the first sign-in
TWO_FACTOR = "2fa"  # to set up, or confirm again, a second factor
REFUSED = {BAD, UNSIGNED, FORBIDDEN, MISSING, NOT_ALLOWED, TOO_MANY, LOGIN, FIRST, TWO_FACTOR}

X = None  # the method is not allowed: 405
Spec = tuple[int | None, str]  # (minimum right, outcome)


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # "page" (signed in), "public" or "admin"
    reach: str | None = None
    get: Spec | None = None
    post: Spec | None = None
    acts: int | None = None  # from this right (ANYONE: public) a request may change data
    confirm: bool = False  # POST asks a fresh second factor first (portal.second_factor)
    open: bool = False  # always open (portal.open_urls): even to an unfinished first sign-in

    def spec(self, method: str) -> Spec | None:
        return self.get if method == "GET" else self.post


def _spec(value: Spec | str | None) -> Spec | None:
    return (None, value) if isinstance(value, str) else value


def page(name: str, reach: str, get: Any, post: Any, *, acts: Any = None, confirm=False) -> Rule:
    return Rule(name, "page", reach, _spec(get), _spec(post), acts, confirm)


def public(name: str, get: str | None, post: str | None, *, acts: Any = None, open_=False) -> Rule:
    return Rule(name, "public", None, _spec(get), _spec(post), acts, open=open_)


def admin(name: str, get: str, post: str) -> Rule:
    return Rule(name, "admin", None, _spec(get), _spec(post))


# fmt: off
TABLE = [
    # --- signed in:  name                 reach   GET          POST
    page("home",                            SIGNED, OK,          X),
    page("accounts:link",                   SIGNED, OK,          BAD),
    page("accounts:detail",                 ANY,    (C, OK),     X),
    page("accounts:leave",                  ANY,    (C, OK),     (C, MOVED), acts=C),
    page("accounts:report",                 ANY,    (C, OK),     (C, BAD)),
    page("accounts:report_done",            ANY,    (C, OK),     X),
    page("accounts:users",                  ADMIN,  (C, OK),     X),
    page("accounts:default_right",          ADMIN,  X,           (V, MOVED), confirm=True),
    page("accounts:add_user",               ADMIN,  (M, OK),     (M, BAD)),
    page("accounts:add_details",            ADMIN,  (M, MOVED),  (M, MOVED)),  # no draft: step 1
    page("accounts:add_rights",             ADMIN,  (M, MOVED),  (M, MOVED)),
    page("accounts:add_custom",             ADMIN,  (M, MOVED),  (M, MOVED)),
    page("accounts:add_review",             ADMIN,  (M, MOVED),  (M, MOVED), confirm=True),
    page("accounts:change_rights",          ADMIN,  (M, OK),     (M, BAD)),
    page("accounts:change_custom",          ADMIN,  (M, MOVED),  (M, MOVED)),  # no way chosen
    page("accounts:change_review",          ADMIN,  (M, MOVED),  (M, MOVED), confirm=True),
    page("accounts:remove_user",            ADMIN,  (M, OK),     (M, MOVED), acts=M, confirm=True),
    page("accounts:audit",                  ADMIN,  (C, OK),     X),
    page("accounts:to_validate",            ANY,    (M, OK),     X),
    page("accounts:request_detail",         ANY,    (M, OK),     X),
    page("accounts:approve_request",        ANY,    X,           (M, MOVED), acts=V),
    page("accounts:reject_request",         ANY,    X,           (M, BAD)),
    page("billing:overview",                WHOLE,  (C, OK),     X),
    page("billing:methods",                 WHOLE,  (C, OK),     X),
    page("billing:add_card",                WHOLE,  (M, OK),     (M, OK),    acts=M),  # customer
    page("billing:make_default",            WHOLE,  X,           (V, MOVED), acts=V),
    page("billing:remove_method",           WHOLE,  (M, OK),     (M, MOVED), acts=M, confirm=True),
    page("billing:invoices",                WHOLE,  (C, OK),     X),
    page("billing:invoice",                 WHOLE,  (C, OK),     X),
    page("billing:invoice_pdf",             WHOLE,  (C, OK),     X),
    page("billing:invoice_csv",             WHOLE,  (C, OK),     X),
    page("billing:pay",                     WHOLE,  (M, OK),     (M, OK),    confirm=True),
    page("billing:statements",              WHOLE,  (C, OK),     X),
    page("billing:statement",               WHOLE,  (C, OK),     X),
    page("billing:statement_pdf",           WHOLE,  (C, OK),     X),
    page("billing:statement_csv",           WHOLE,  (C, OK),     X),
    page("returns:policies",                ANY,    (C, OK),     X),
    page("returns:policy_create",           ANY,    (M, OK),     (M, OK)),
    page("returns:policy",                  ANY,    (C, OK),     X),  # paid by the contract
    page("returns:policy_edit",             ANY,    (M, OK),     (M, OK)),
    page("returns:policy_activate",         ANY,    X,           (M, MOVED)),  # already active
    page("returns:policy_deactivate",       ANY,    X,           (M, MOVED), acts=M),
    page("returns:policy_delete",           ANY,    (M, OK),     (M, MOVED), acts=M),
    page("returns:forecast",                WHOLE,  (C, OK),     X),
    page("returns:forecast_download",       WHOLE,  (C, OK),     X),
    page("returns:report",                  WHOLE,  (C, OK),     X),
    page("returns:report_download",         WHOLE,  (C, OK),     X),
    page("returns:notifications",           WHOLE,  (C, OK),     (M, BAD)),
    page("returns:remove_recipient",        WHOLE,  (M, OK),     (M, MOVED), acts=M),
    # --- public:       name                 GET     POST
    public("healthz",                       OK,     X,           open_=True),
    public("healthz_live",                  OK,     X,           open_=True),
    public("healthz_ready",                 OK,     X,           open_=True),
    # Off by default (PORTAL_METRICS_ENABLED): 404 to everyone; on, staff and its bearer token
    # read it (tests/portal/test_metrics.py).
    public("metrics",                       MISSING, MISSING,    open_=True),
    public("set_language",                  MOVED,  MOVED,       open_=True),
    public("accounts:security",             OK,     X),
    public("accounts:removal",              OK,     OK,          acts=ANYONE),
    public("accounts:removal_report",       OK,     BAD),
    public("accounts:removal_report_done",  OK,     X),
    public("returns:direct_link",           OK,     BAD),
    public("returns:label_done",            OK,     X),
    public("returns:label_pdf",             OK,     X),
    public("returns:tracking_events",       X,      UNSIGNED,    open_=True),
    public("returns:unsubscribe",           OK,     OK,          acts=ANYONE, open_=True),
    public("outages:status",                OK,     X,           open_=True),
    public("outages:archive",               OK,     X,           open_=True),
    public("outages:ical",                  OK,     X,           open_=True),
    public("outages:atom",                  OK,     X,           open_=True),
    public("outages:json",                  OK,     X,           open_=True),
    # --- the admin, a few representative pages: what staff with two factors get ---
    admin("admin:index",                                  OK,    OK),
    admin("admin:login",                                  MOVED, MOVED),
    admin("admin:accounts_businessaccount_changelist",    OK,    OK),
    admin("admin:accounts_businessaccount_change",        OK,    OK),
    admin("admin:outages_maintenancewindow_change",       OK,    OK),
]
# fmt: on
RULES = {rule.name: rule for rule in TABLE}

# allauth's pages, one group known by the prefix of their names: the anonymous reach these ones,
# the others send them to sign in; an unfinished first sign-in reaches only its own step's.
ALLAUTH_PREFIXES = ("account_", "mfa_")
ALLAUTH_PUBLIC = frozenset(
    {
        "account_login",
        "account_logout",
        "account_signup",
        "account_inactive",
        "account_email_verification_sent",
        "account_confirm_email",
        "account_confirm_login_code",
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key",
        "account_reset_password_from_key_done",
        "mfa_authenticate",
        "mfa_login_webauthn",
    }
)
ALLAUTH_KWARGS = {"key": "not-a-key", "uidb36": "0", "pk": 999_999}  # nothing behind them
# The token each public URL takes (world.Business.ids).
TOKENS = {
    "accounts:removal": "removal_token",
    "accounts:removal_report": "removal_token",
    "accounts:removal_report_done": "removal_token",
    "returns:direct_link": "policy_token",
    "returns:label_done": "policy_token",
    "returns:label_pdf": "policy_token",
    "returns:unsubscribe": "unsubscribe_token",
}
# The carrier's endpoint (authenticated by its HMAC signature) and the one-click unsubscribe
# (RFC 8058: a mail client's POST carries no token; it can only stop e-mails to its address).
CSRF_EXEMPT = {"returns:tracking_events", "returns:unsubscribe"}
# Answered by portal.middleware.StaffAdminRequiresMFAMiddleware before any view, so before the
# CSRF check: it never runs the admin's password form, whatever the method.
BEFORE_ANY_VIEW = {"admin:login"}


# --- the resolver's URLs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Url:
    route: str
    name: str
    view: Any
    keywords: tuple[str, ...]

    @property
    def group(self) -> str:
        if self.route.startswith(f"{settings.PORTAL_ADMIN_PATH}/"):
            return "admin"
        module = getattr(self.view, "__module__", "")
        if module.startswith("allauth.") and self.name.startswith(ALLAUTH_PREFIXES):
            return "allauth"
        return "portal"


def _walk(
    patterns: list, prefix: str = "", namespace: str = "", keywords: tuple[str, ...] = ()
) -> Iterator[Url]:
    """Every URL pattern, walking includes as tests/test_architecture.py does, with the keywords
    of its whole route."""
    for pattern in patterns:
        mine = keywords + tuple(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner, mine)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or ""
            full = f"{namespace}:{name}" if namespace and name else name
            yield Url(prefix + str(pattern.pattern), full, pattern.callback, mine)


def resolver_urls() -> list[Url]:
    """Every URL of the resolver but static files and the admin's own pages (except the few
    the table classifies)."""
    found = []
    for url in _walk(get_resolver().url_patterns):
        if url.route.startswith((settings.STATIC_URL.lstrip("/"), "media/")):
            continue
        if url.group == "admin" and url.name not in RULES:
            continue
        found.append(url)
    return found


URLS = resolver_urls()
BY_NAME = {url.name: url for url in URLS if url.name}


def _id(url: Url) -> str:
    return url.name or url.route


def test_every_url_is_classified():
    unclassified = [
        f"{url.route} ({url.name or 'no name'})"
        for url in URLS
        if url.group != "allauth" and url.name not in RULES
    ]
    assert unclassified == [], (
        "Classify these URLs in TABLE (tests/security/test_access_matrix.py): the reach and "
        "minimum right each method needs and what it answers, or public with its outcomes and "
        "its PROTECTION."
    )
    gone = sorted(set(RULES) - set(BY_NAME))
    assert gone == [], "These rows name URLs the resolver no longer has: remove or rename them."


def test_the_always_open_rows_are_the_portal_s_always_open_urls():
    """An unfinished first sign-in and maintenance let these through: the table says which."""
    table_open = {rule.name for rule in TABLE if rule.open}
    assert table_open == ALWAYS_OPEN_URL_NAMES - {"account_logout"}  # allauth's


# --- the world, and the tables that must not change -----------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """Built once per module (per xdist worker) in a transaction rolled back at the end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _services(settings: Any) -> None:
    """The second factor confirmed at sign-in stays fresh for the run (so POSTs reach the rights
    check); cards go to the in-memory gateway (no network)."""
    settings.PORTAL_SECOND_FACTOR_MAX_AGE = 24 * 3600
    settings.BILLING_GATEWAY = fakes.GATEWAY
    fakes.FakeGateway.reset()


def _tables() -> list[type[Model]]:
    labels = ("accounts", "billing", "returns", "outages", "portal", "account", "mfa")
    return [model for label in labels for model in apps.get_app_config(label).get_models()]


def fingerprint() -> dict[str, str]:
    """A digest of every row of the main tables (sessions and last sign-in times aside)."""
    digests = {}
    for model in _tables():
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "last_login"]
        rows = model._base_manager.order_by("pk").values_list(*fields)
        digests[model._meta.label] = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
    return digests


def changed_tables(before: dict[str, str]) -> list[str]:
    after = fingerprint()
    return sorted(label for label, digest in before.items() if after[label] != digest)


# --- what a caller gets, and what the table says they get -----------------------------------------


def outcome(response: HttpResponse) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        path = urlsplit(response["Location"]).path
        if path in (reverse("account_login"), reverse("admin:login")):
            return LOGIN
        if path in (reverse("account_change_password"), reverse("mfa_activate_totp")):
            return FIRST
        if path in (reverse("mfa_index"), reverse("account_reauthenticate")):
            return TWO_FACTOR
        return MOVED
    if 200 <= status < 300:
        return OK
    return str(status)


def expected(rule: Rule, caller: Caller, method: str, *, foreign: bool = False) -> str:
    """What `caller` gets from the rule's URL with A's ids, or (`foreign`) with their own
    account and the other business's objects."""
    if rule.kind == "admin":
        return _admin_page(rule, caller, method)
    if caller.first_step and not rule.open:
        return FIRST
    if rule.kind == "page" and not caller.signed_in:
        return LOGIN
    spec = rule.spec(method)
    if spec is None:
        return NOT_ALLOWED
    level, answer = spec
    if method == "POST" and rule.confirm and not caller.second_factor:
        return TWO_FACTOR  # asked before any right: the same answer whatever the ids
    if rule.kind == "public" or rule.reach == SIGNED:
        return MISSING if foreign else answer
    assert rule.reach is not None
    account = (caller.home or "A") if foreign else "A"
    if not caller.reaches(account, level, rule.reach):
        return MISSING
    return MISSING if foreign else answer


def _admin_page(rule: Rule, caller: Caller, method: str) -> str:
    if not caller.signed_in:
        return LOGIN
    if caller.staff:
        spec = rule.spec(method)
        assert spec is not None
        return spec[1] if caller.second_factor else TWO_FACTOR
    if rule.name == "admin:login":
        return FORBIDDEN  # a customer, signed in: refused (never the admin's password form)
    return FIRST if caller.first_step else LOGIN


def may_change(rule: Rule, caller: Caller, answer: str) -> bool:
    if answer in REFUSED or rule.acts is None:
        return False
    if rule.kind == "public":
        return True
    return caller.level is not None and caller.level >= rule.acts


def _allauth_expected(url: Url, caller: Caller) -> str | None:
    """None: allauth's own answer, anything but a server error."""
    if caller.first_step:
        step = PASSWORD_STEP if caller.first_step == "password" else SECOND_FACTOR_STEP
        return None if url.name in ALWAYS_ALLOWED | step else FIRST
    if not caller.signed_in and url.name not in ALLAUTH_PUBLIC:
        return LOGIN
    return None


def path_of(url: Url, world: World, *, account: str = "A", objects: str = "A") -> str:
    ids = world.business(objects).ids()
    values: dict[str, Any] = {}
    for keyword in url.keywords:
        if keyword == "account_id":
            values[keyword] = world.business(account).account.pk
        elif keyword == "token":
            values[keyword] = ids[TOKENS[url.name]]
        elif keyword == "object_id":  # the admin's change pages
            window = "maintenancewindow" in url.name
            values[keyword] = world.window.pk if window else world.a.account.pk
        elif url.group == "allauth":
            values[keyword] = ALLAUTH_KWARGS[keyword]
        else:
            values[keyword] = ids[keyword]
    return reverse(url.name, kwargs=values)


# --- asking ---------------------------------------------------------------------------------------


@dataclass
class Cell:
    caller: Caller
    method: str
    path: str
    want: str | None  # None: allauth's own answer, anything but a server error
    may_change: bool = False


def run(cells: list[Cell]) -> list[str]:
    """Ask every cell: the mismatches, and any change made by a request that may not act.

    Those run together in one savepoint and the tables are compared once after them (replayed
    one by one, to name the culprit, only when something changed). A request that may act runs
    in its own savepoint, rolled back after it, so no later cell sees what it did.
    """
    problems: list[str] = []
    steady = [cell for cell in cells if not cell.may_change]
    before = fingerprint()
    with transaction.atomic():
        for cell in steady:
            problems += _ask(cell)
        changed = changed_tables(before)
        transaction.set_rollback(True)
    if changed:
        problems += _who_changed(steady, before) or [f"some request changed {changed}"]
    for cell in cells:
        if cell.may_change:
            with transaction.atomic():
                problems += _ask(cell)
                transaction.set_rollback(True)
    return problems


def _ask(cell: Cell) -> list[str]:
    response = cell.caller.request(cell.method, cell.path)
    got = outcome(response)
    where = f"{cell.caller.name:28} {cell.method:4} {cell.path}"
    if cell.want is None:
        server_error = response.status_code >= 500
        return [f"{where}: server error {response.status_code}"] if server_error else []
    if got != cell.want:
        location = response.get("Location", "")
        return [f"{where}: expected {cell.want}, got {got} {location}".rstrip()]
    return []


def _who_changed(steady: list[Cell], before: dict[str, str]) -> list[str]:
    found = []
    for cell in steady:
        with transaction.atomic():
            cell.caller.request(cell.method, cell.path)
            if tables := changed_tables(before):
                found.append(
                    f"{cell.caller.name} {cell.method} {cell.path}: answered {cell.want} and "
                    f"may not act, but changed {', '.join(tables)}"
                )
            transaction.set_rollback(True)
    return found


# --- the matrix -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", URLS, ids=_id)
def test_each_caller_gets_what_the_table_says(url: Url, world: World, db: None) -> None:
    cells = []
    path = path_of(url, world)
    for caller in world.callers:
        for method in ("GET", "POST"):
            if url.group == "allauth":
                want = _allauth_expected(url, caller)
                cells.append(Cell(caller, method, path, want, may_change=want is None))
                continue
            rule = RULES.get(url.name)
            assert rule is not None, f"{url.route} is not classified: see TABLE"
            want = expected(rule, caller, method)
            cells.append(Cell(caller, method, path, want, may_change(rule, caller, want)))
    problems = run(cells)
    assert problems == [], "\n".join(problems)


# Keywords naming an object that belongs to a business.
OBJECT_KEYWORDS = {
    "link_id",
    "request_id",
    "method_id",
    "invoice_id",
    "statement_id",
    "policy_id",
    "recipient_id",
    "tracking_number",
}
OBJECT_URLS = [url for url in URLS if url.group == "portal" and OBJECT_KEYWORDS & {*url.keywords}]


@pytest.mark.parametrize("url", OBJECT_URLS, ids=_id)
def test_another_business_s_object_is_404(url: Url, world: World, db: None) -> None:
    """A's users with B's objects in A's URLs, B's user with A's objects in B's, anyone with B's
    label under A's direct link: 404 (or a refusal that comes first), never 403 or 200, and
    nothing changes."""
    rule = RULES[url.name]
    cells = []
    for caller in world.callers:
        if rule.kind == "page" and caller.home is None:
            continue  # no account of their own: the matrix has them
        if rule.kind == "public":
            path = path_of(url, world).replace(
                world.a.label.tracking_number, world.b.label.tracking_number
            )
        else:
            home = caller.home or "A"
            path = path_of(url, world, account=home, objects="B" if home == "A" else "A")
        for method in ("GET", "POST"):
            want = expected(rule, caller, method, foreign=True)
            assert want in REFUSED
            cells.append(Cell(caller, method, path, want))
    problems = run(cells)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "url", [u for u in URLS if u.name in RULES and RULES[u.name].confirm], ids=_id
)
def test_a_second_factor_asked_first_tells_nothing(url: Url, world: World, db: None) -> None:
    """Where a POST asks a fresh second factor before any right (`confirm`), staff without one
    get the same redirect for A's real ids as for ids that exist nowhere."""
    caller = world.caller("staff_without_2fa")
    nowhere = {keyword: 999_999 for keyword in url.keywords}
    with transaction.atomic():
        real = caller.request("POST", path_of(url, world))
        missing = caller.request("POST", reverse(url.name, kwargs=nowhere))
        transaction.set_rollback(True)
    assert outcome(real) == outcome(missing) == TWO_FACTOR
    assert real["Location"] == missing["Location"]


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", URLS, ids=_id)
def test_a_post_without_csrf_token_is_refused(url: Url, world: World, db: None) -> None:
    """403 and no change for a caller who could act, everywhere but the documented exempt
    endpoints (which answer as with a token) and the admin's sign-in page (answered before any
    view, changing nothing)."""
    callers = [world.caller(name) for name in ("anonymous", "a_administrator", "staff_with_2fa")]
    path = path_of(url, world)
    problems = []
    for caller in callers:
        before = fingerprint()
        with transaction.atomic():
            response = caller.request("POST", path, csrf=False)
            changed = changed_tables(before)
            transaction.set_rollback(True)
        got = outcome(response)
        if url.name in CSRF_EXEMPT | BEFORE_ANY_VIEW:
            want = expected(RULES[url.name], caller, "POST")
            if got != want:
                problems.append(f"{caller.name}: expected {want}, got {got}")
            if changed and url.name in BEFORE_ANY_VIEW:
                problems.append(f"{caller.name}: changed {', '.join(changed)}")
        elif response.status_code != 403 or changed:
            problems.append(f"{caller.name}: without a CSRF token got {got}, changed {changed}")
    assert problems == [], "\n".join(problems)


def test_only_the_documented_endpoints_are_csrf_exempt():
    assert {url.name for url in URLS if getattr(url.view, "csrf_exempt", False)} == CSRF_EXEMPT


# --- public endpoints: rate-limited, cached, signed, or no database work --------------------------


@dataclass(frozen=True)
class Throttled:
    """Over `setting` requests from one address in the window: 429. `miss`: only misses count
    (ask for a label that is not there); `bad_token`: counted before the token is read."""

    setting: str
    miss: bool = False
    bad_token: bool = False


@dataclass(frozen=True)
class Cached:
    """A second request within `seconds` reads nothing from `table` (nothing at all: None)."""

    seconds: int
    table: str | None = None


@dataclass(frozen=True)
class Signed:
    """A request without a good signature is refused with `refusal` before any query."""

    refusal: int


@dataclass(frozen=True)
class NoDatabase:
    """Nothing to protect: a visitor's request makes no query."""


@dataclass(frozen=True)
class Gap:
    """Neither rate-limited nor cached: a known gap, reported (strict xfail until fixed)."""

    why: str


Protection = Throttled | Cached | Signed | NoDatabase | Gap
REMOVAL_LIMIT = "PORTAL_REMOVAL_LINK_RATE_LIMIT"
LINK_LIMIT = "RETURNS_LINK_RATE_PER_IP"
LINK_VIEWS_LIMIT = "RETURNS_LINK_VIEWS_PER_IP"

# fmt: off
PROTECTION: dict[tuple[str, str], Protection] = {
    ("accounts:removal", "GET"):              Throttled(REMOVAL_LIMIT, bad_token=True),
    ("accounts:removal", "POST"):             Throttled(REMOVAL_LIMIT, bad_token=True),
    ("accounts:removal_report", "GET"):       Throttled(REMOVAL_LIMIT, bad_token=True),
    ("accounts:removal_report", "POST"):      Throttled(REMOVAL_LIMIT, bad_token=True),
    ("accounts:removal_report_done", "GET"):  Throttled(REMOVAL_LIMIT, bad_token=True),
    ("returns:direct_link", "POST"):          Throttled(LINK_LIMIT),
    ("returns:direct_link", "GET"):           Throttled(LINK_VIEWS_LIMIT),
    ("returns:label_done", "GET"):            Throttled(LINK_LIMIT, miss=True),
    ("returns:label_pdf", "GET"):             Throttled(LINK_LIMIT, miss=True),
    ("returns:tracking_events", "POST"):      Signed(401),
    ("returns:unsubscribe", "GET"):           Signed(404),
    ("returns:unsubscribe", "POST"):          Signed(404),
    ("outages:status", "GET"):                Cached(30, table="outages_maintenancewindow"),
    ("outages:ical", "GET"):                  Cached(60),
    ("outages:atom", "GET"):                  Cached(60),
    ("outages:json", "GET"):                  Cached(60),
    ("outages:archive", "GET"):               Cached(60, table="outages_maintenancewindow"),
    ("healthz", "GET"):                       Cached(5),  # the readiness probe, per process
    ("healthz_ready", "GET"):                 Cached(5),
    ("healthz_live", "GET"):                  NoDatabase(),
    ("metrics", "GET"):                       Signed(404),  # staff or the bearer token
    ("metrics", "POST"):                      Signed(404),
    ("accounts:security", "GET"):             NoDatabase(),
    ("set_language", "GET"):                  NoDatabase(),
    ("set_language", "POST"):                 NoDatabase(),
}
# fmt: on


def _public_methods() -> list[tuple[str, str]]:
    return [
        (rule.name, method)
        for rule in TABLE
        if rule.kind == "public"
        for method in ("GET", "POST")
        if rule.spec(method) is not None
    ]


def test_every_public_endpoint_says_how_it_is_protected():
    assert [cell for cell in _public_methods() if cell not in PROTECTION] == [], (
        "Say in PROTECTION how each public endpoint is protected: rate-limited, cached, signed, "
        "or doing no database work (or, if none, a Gap that says why)."
    )
    assert set(PROTECTION) <= set(_public_methods())


def _protections() -> list[Any]:
    return [
        pytest.param(
            name,
            method,
            protection,
            id=f"{name}-{method}",
            marks=(
                [pytest.mark.xfail(strict=True, reason=f"known gap: {protection.why}")]
                if isinstance(protection, Gap)
                else []
            ),
        )
        for (name, method), protection in PROTECTION.items()
    ]


def _public_path(name: str, world: World, protection: Protection) -> str:
    path = path_of(BY_NAME[name], world)
    token = world.a.ids()[TOKENS[name]] if name in TOKENS else None
    if isinstance(protection, Throttled) and protection.miss:
        return path.replace(world.a.label.tracking_number, world.b.label.tracking_number)
    if isinstance(protection, Throttled) and protection.bad_token and token:
        return path.replace(token, "not-a-token")
    if isinstance(protection, Signed) and token:
        return path.replace(token, token[:-4] + "abcd")  # the signature no longer matches
    return path


@pytest.mark.parametrize(("name", "method", "protection"), _protections())
def test_each_public_endpoint_is_protected(
    name: str, method: str, protection: Protection, world: World, db: None, settings: Any
) -> None:
    visitor = world.visitor()
    path = _public_path(name, world, protection)

    def ask() -> tuple[int, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            status = visitor.request(method, path).status_code
        return status, [query["sql"] for query in queries]

    with transaction.atomic():
        if isinstance(protection, Throttled):
            setattr(settings, protection.setting, 2)
            statuses = [ask()[0] for _ in range(3)]
            assert TOO_MANY not in map(str, statuses[:2]) and statuses[2] == 429, statuses
        elif isinstance(protection, Signed):
            status, read = ask()
            assert status == protection.refusal and read == []
        elif isinstance(protection, Cached | NoDatabase):
            ask()
            status, read = ask()
            table = protection.table if isinstance(protection, Cached) else None
            assert status < 400 and [sql for sql in read if not table or table in sql] == []
        else:  # a gap: what fixing it would show
            answers = [ask() for _ in range(31)]
            assert any(status == 429 for status, _ in answers) or answers[-1][1] == []
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("name", "limit", "email"),
    [
        ("account_login", 30, None),  # every attempt counts
        ("account_signup", 20, None),
        ("account_reset_password", 20, "nobody{}@example.com"),  # a valid form counts
    ],
)
def test_allauth_s_public_forms_are_rate_limited_in_production(
    name: str, limit: int, email: str | None, world: World, db: None, settings: Any
) -> None:
    """The test settings turn allauth's limits off; production's (portal.settings) are on."""
    import portal.settings as production

    settings.ACCOUNT_RATE_LIMITS = production.ACCOUNT_RATE_LIMITS
    visitor = world.visitor()
    statuses = []
    with transaction.atomic():
        for attempt in range(limit + 1):
            data = {"email": email.format(attempt)} if email else {}
            statuses.append(visitor.request("POST", reverse(name), data=data).status_code)
        transaction.set_rollback(True)
    assert 429 not in statuses[:limit] and statuses[limit] == 429, statuses


# --- the world holds what the callers' names say --------------------------------------------------


def test_each_caller_holds_what_their_name_says(world: World, db: None) -> None:
    a, contract = world.a.account, world.a.contract
    for caller in world.callers:
        held = rights.of_user(caller.user, a)
        if caller.home == "A":
            assert held.level_on(None if caller.whole else contract.pk) == caller.level
            assert held.whole == (caller.level if caller.whole else None)
            assert held.administrator == caller.administrator
        elif caller.first_step is None:
            assert held.highest is None, caller.name  # B's user, the removed one, staff...
    assert rights.of_user(world.caller("b_user").user, world.b.account).administrator
    for caller in world.callers:
        assert caller.second_factor == bool(caller.user and is_mfa_enabled(caller.user))
