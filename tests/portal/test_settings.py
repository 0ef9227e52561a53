"""Settings read from the environment: safe local defaults, and production that fails loudly.

Each case runs in a fresh interpreter with a clean environment, because settings are read once
at import time and the test process itself runs on the test settings.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "prod-" + "k3y-for-the-settings-test-" * 3,
    "DJANGO_ALLOWED_HOSTS": "portal.example",
    "PORTAL_MFA_ENCRYPTION_KEY": "Ilz5qf-Wd-a6kzXBNEi0I0aG7hRDwWpDOB63STcJrvg=",
    "STRIPE_SECRET_KEY": "sk_live_settings_test",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_settings_test",
    "RETURNS_TRACKING_SECRET": "carrier-shared-secret-for-the-settings-test",
    # Nothing here touches a database, but a file must never appear in the work tree.
    "DATABASE_URL": "sqlite://:memory:",
}

# Prints the settings a case looks at and, when asked, what a request over HTTPS gets back
# (only with a database and broker that exist on this machine).
PROBE = """
import json, sys, django
from django.conf import settings
django.setup()
from django.test import Client
response = None
if sys.argv[1] == "request":
    response = Client().get("/healthz", secure=True, HTTP_HOST="portal.example")
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ENGINE": settings.DATABASES["default"]["ENGINE"],
    "DATABASE_NAME": str(settings.DATABASES["default"]["NAME"]),
    "DATABASE_OPTIONS": settings.DATABASES["default"].get("OPTIONS", {}),
    "DISABLE_SERVER_SIDE_CURSORS": settings.DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"],
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "CELERY_TASK_ALWAYS_EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
    "EMAIL_BACKEND": settings.EMAIL_BACKEND,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "LANGUAGE_COOKIE_SECURE": settings.LANGUAGE_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "SECURE_HSTS_PRELOAD": settings.SECURE_HSTS_PRELOAD,
    "ACCOUNT_DEFAULT_HTTP_PROTOCOL": settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL,
    "STATICFILES_BACKEND": settings.STORAGES["staticfiles"]["BACKEND"],
    "CSP": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
    "status": response and response.status_code,
    "headers": response and dict(response.headers),
}))
"""


def _clean_env(**extra: str) -> dict[str, str]:
    """Only what any shell has, plus `extra`: nothing of the CI run's DATABASE_URL and the like."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _probe(*, request: bool = False, **env: str) -> dict[str, Any]:
    result = _run(["-c", PROBE, "request" if request else "settings"], _clean_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _csp(headers: dict[str, str]) -> dict[str, list[str]]:
    policy = headers["Content-Security-Policy"]
    directives = (part.strip().split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in directives}


def test_production_deploy_check_is_clean():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _clean_env(**PRODUCTION_ENV)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr


@pytest.mark.parametrize("secret", [None, "", "too-short-" * 4])
def test_production_without_a_strong_secret_key_refuses_to_start(secret):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    if secret is not None:
        env["DJANGO_SECRET_KEY"] = secret

    result = _run(["manage.py", "check"], _clean_env(**env))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY (50+ characters) is required in production." in result.stderr


def test_production_without_allowed_hosts_refuses_to_start():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_ALLOWED_HOSTS"}

    result = _run(["manage.py", "check"], _clean_env(**env))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_ALLOWED_HOSTS is required in production." in result.stderr


@pytest.mark.parametrize("missing", ["STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY"])
def test_production_without_payment_keys_refuses_to_start(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    result = _run(["manage.py", "check"], _clean_env(**env))

    assert result.returncode != 0
    refusal = "STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY are required in production."
    assert refusal in result.stderr


def test_production_without_a_tracking_secret_refuses_to_start():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "RETURNS_TRACKING_SECRET"}

    result = _run(["manage.py", "check"], _clean_env(**env))

    assert result.returncode != 0
    assert "RETURNS_TRACKING_SECRET (32+ characters) is required in production." in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BILLING_UPGRADE_REVENUE", "lots"),
        ("BILLING_UPGRADE_REVENUE", "0"),
        ("BILLING_UPGRADE_REVENUE", "-5.00"),
        ("BILLING_UPGRADE_REVENUE", "Infinity"),
        ("BILLING_UPGRADE_REVENUE", "NaN"),
        ("BILLING_UPGRADE_SHIPMENTS", "0"),
        ("BILLING_UPGRADE_SHIPMENTS", "-1"),
    ],
)
def test_an_upgrade_threshold_that_is_no_positive_number_refuses_to_start(name, value):
    result = _run(["manage.py", "check"], _clean_env(**{name: value}))

    assert result.returncode != 0
    assert "BILLING_UPGRADE_SHIPMENTS (a whole number) and BILLING_UPGRADE_REVENUE" in result.stderr


@pytest.fixture(scope="module")
def production() -> dict[str, Any]:
    return _probe(request=True, **PRODUCTION_ENV)


def test_production_hardening(production):
    values = production

    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["portal.example"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["LANGUAGE_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["ACCOUNT_DEFAULT_HTTP_PROTOCOL"] == "https"
    assert values["STATICFILES_BACKEND"].startswith("whitenoise.")


def test_production_response_headers(production):
    values = production
    headers = values["headers"]

    assert values["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    csp = _csp(headers)
    # Stripe.js draws the card fields: its origin and no other.
    assert csp["script-src"] == ["'self'", "https://js.stripe.com"]
    assert csp["frame-src"] == ["https://js.stripe.com"]
    assert csp["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_production_redirects_plain_http_to_https():
    script = (
        "import django; django.setup(); from django.test import Client;"
        "r = Client().get('/healthz', HTTP_HOST='portal.example');"
        "print(r.status_code, r['Location'])"
    )
    result = _run(["-c", script], _clean_env(**PRODUCTION_ENV))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["301", "https://portal.example/healthz"]


def test_local_defaults_need_no_environment():
    values = _probe(DJANGO_ALLOWED_HOSTS="portal.example")

    assert values["DEBUG"] is True
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASE_NAME"] == str(BASE_DIR / "db.sqlite3")
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["CELERY_BROKER_URL"] == "memory://"
    assert values["CACHE_BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["ACCOUNT_DEFAULT_HTTP_PROTOCOL"] == "http"
    # Local pages carry the same policy, so a violation shows up before production; the card
    # fields come from localstripe beside the portal.
    assert values["CSP"]["script-src"] == ["'self'", "http://127.0.0.1:8420"]


def test_database_and_redis_urls_switch_to_postgresql_and_a_real_worker():
    values = _probe(
        DJANGO_ALLOWED_HOSTS="portal.example",
        DATABASE_URL="postgres://portal:secret@db.internal:5432/portal",
        REDIS_URL="redis://cache.internal:6379/0",
    )

    assert values["ENGINE"] == "django.db.backends.postgresql"
    # The SSD planner cost (the benchmark's finding), unless PgBouncer makes it ALTER DATABASE's.
    assert values["DATABASE_OPTIONS"] == {"options": "-c random_page_cost=1.1"}
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["CELERY_BROKER_URL"] == "redis://cache.internal:6379/0"
    assert values["CACHE_BACKEND"] == "portal.cache.LocalFallbackCache"  # Redis by default
    assert values["DISABLE_SERVER_SIDE_CURSORS"] is False
    behind_pgbouncer = _probe(
        DATABASE_URL="postgres://portal:secret@db.internal:6432/portal",
        DJANGO_PG_OPTIONS="",
        DJANGO_DISABLE_SERVER_SIDE_CURSORS="1",
    )
    assert "options" not in behind_pgbouncer["DATABASE_OPTIONS"]
    assert behind_pgbouncer["DISABLE_SERVER_SIDE_CURSORS"] is True
