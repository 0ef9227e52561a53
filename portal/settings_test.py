"""Test settings: fast hashing, in-memory mail and eager tasks; the database comes from the env."""

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "sms.backends.locmem.SmsBackend"  # texts land in sms.outbox
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
ACCOUNT_RATE_LIMITS = False  # type: ignore[assignment]  # allauth: False turns rate limits off
# No test talks to a developer's localstripe on 8420 by accident: the ones that use the gateway
# start their own (tests/billing/conftest.py: stripe_api); the others find nobody at port 9.
STRIPE_API_BASE = "http://127.0.0.1:9"
# Quiet: the console shows warnings and errors only; every record still reaches pytest's caplog
# and tests/log_scan.py.
LOGGING = logging_config(log_format="console", level="INFO", console_level="WARNING")  # noqa: F405
# A second alias mirroring the test database, as a read replica mirrors the primary, so the
# replica routing (portal/replica.py) is tested on a real second connection. Off unless a test
# turns PORTAL_REPORTS_FROM_REPLICA on: other tests' reports read their own uncommitted rows.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
PORTAL_REPORTS_FROM_REPLICA = False
