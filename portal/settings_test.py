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
