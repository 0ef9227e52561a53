"""Fixtures shared by the whole suite, and the rule for tests that need an outside service."""

import os

# Playwright's sync API runs an event loop in the test thread; Django's ORM would refuse to
# set up the test database from there without this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import pyotp
import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from celery._state import _set_task_join_will_block  # type: ignore[attr-defined]
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from outages import gate
from tests.factories import DEFAULT_PASSWORD, UserFactory

TOTP_PERIOD = 30


def require_service(name: str, available: bool) -> None:
    """Go on when `name` is there; otherwise skip locally and fail where it is required.

    CI sets PORTAL_REQUIRE_SERVICES=1, so a missing PostgreSQL, Redis or Chromium there is a
    failure and never a silently skipped test.
    """
    if available:
        return
    _missing(name)


def redis_available(url: str) -> bool:
    """Whether a Redis server answers PING at `url` within three seconds (a busy CI machine)."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping())
    except (redis.RedisError, OSError):
        return False


def postgres_in_use() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _missing(name: str) -> NoReturn:
    message = f"{name} is not available"
    if settings.PORTAL_REQUIRE_SERVICES:
        pytest.fail(f"{message} and PORTAL_REQUIRE_SERVICES is set", pytrace=False)
    pytest.skip(message)


def totp_code(secret: str, *, fresh: bool = False, min_remaining: float = 3.0) -> str:
    """The current TOTP code for `secret` (allauth has no tolerance window).

    Waits for the next 30 s window when fewer than `min_remaining` seconds are left, and, with
    `fresh=True`, always waits for a new window: a code cannot be used twice in one window.
    """
    now = time.time()
    remaining = TOTP_PERIOD - (now % TOTP_PERIOD)
    if fresh or remaining < min_remaining:
        time.sleep(remaining + 0.2)
    return pyotp.TOTP(secret).now()


@dataclass
class MFAUser:
    user: Any
    secret: str
    password: str
    recovery_codes: list[str]

    def code(self) -> str:
        return totp_code(self.secret)


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """allauth keeps rate limits and used TOTP codes in the cache: no test sees another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _new_gate_process() -> Iterator[None]:
    """The gate keeps the last snapshot it read in the process: each test starts without it, as
    a new process would, so no test sees the windows of another."""
    gate.forget_process_copy()
    yield
    gate.forget_process_copy()


@pytest.fixture(autouse=True)
def _new_readiness_probe() -> Iterator[None]:
    """/healthz keeps its last answer a few seconds in the process: each test probes afresh."""
    from portal.views import forget_readiness

    forget_readiness()
    yield
    forget_readiness()


@pytest.fixture(autouse=True)
def _results_may_be_read() -> None:
    """Celery keeps "inside a task" in one process-wide flag that eager `apply_async` sets and
    restores. Two live-server threads enqueueing at once can restore it in the wrong order and
    leave it set, after which any later `.get()` in the process raises "Never call
    result.get() within a task". Each test starts with it cleared, as a fresh process would."""
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language.

    The test client runs LocaleMiddleware in the test's own thread, so a French request would
    otherwise leave French active for the next test's messages and e-mails.
    """
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def sms_outbox() -> Iterator[list[Any]]:
    """The texts sent through django-sms's in-memory backend (SMS_BACKEND in test settings)."""
    import sms

    sms.outbox = []  # type: ignore[attr-defined]
    yield sms.outbox  # type: ignore[attr-defined]
    sms.outbox = []  # type: ignore[attr-defined]


@pytest.fixture
def full_render(settings: Any) -> None:
    """Pages rendered in full, never from the fragment cache: what a query count must bound."""
    settings.PORTAL_FRAGMENT_CACHE = False


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def user(db: None) -> Any:
    """A signed-up user whose e-mail address is verified (password: DEFAULT_PASSWORD)."""
    return UserFactory()


@pytest.fixture
def staff_user(db: None) -> Any:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def mfa_user(db: None) -> MFAUser:
    """A user with an authenticator app (TOTP) and recovery codes turned on."""
    account = UserFactory()
    secret = generate_totp_secret()
    TOTP.activate(account, secret)
    codes = RecoveryCodes.activate(account).generate_codes()
    return MFAUser(user=account, secret=secret, password=DEFAULT_PASSWORD, recovery_codes=codes)


@pytest.fixture
def mfa_staff_user(db: None) -> MFAUser:
    """Support staff who turned on two-factor authentication, as the admin requires."""
    account = UserFactory(is_staff=True, is_superuser=True)
    secret = generate_totp_secret()
    TOTP.activate(account, secret)
    return MFAUser(user=account, secret=secret, password=DEFAULT_PASSWORD, recovery_codes=[])


def pytest_configure(config: pytest.Config) -> None:
    # whitenoise warns on every request that `collectstatic` has not run; tests need no copy.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")
    # pytest-playwright 0.10 declares a fixture the way pytest 9 deprecates; nothing to do here.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Session-scoped fixtures defined as instance methods:DeprecationWarning",
    )
