"""Portal settings, read from the environment only.

Nothing set means a local developer machine: SQLite, eager Celery tasks and e-mail printed to the
console. `DJANGO_ENV=production` turns the hardening on and makes the secrets mandatory.
"""

import base64
import hashlib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import environ
from celery.schedules import crontab
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from redis.backoff import NoBackoff
from redis.retry import Retry

from portal.logs import configure_structlog, logging_config
from portal.sentry import init_sentry

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()


def _origin(url: str) -> str:
    """ "http://127.0.0.1:8420/js.stripe.com/v3/" → "http://127.0.0.1:8420"."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


DJANGO_ENV = env.str("DJANGO_ENV", default="local")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    # No default: a production process without its secrets must not start.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (50+ characters) is required in production.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is required in production.")
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-only-insecure-key-" + "x" * 40)
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "anymail",
    "csp",
    "localflavor",
    "phonenumber_field",
    "django_structlog",
    "portal",
    "accounts",
    "outages",
    "returns",
    "billing",
]

MIDDLEWARE = [
    # First, so every line a request writes (even a redirect to HTTPS) carries its request id.
    "django_structlog.middlewares.RequestMiddleware",
    "portal.logs.RequestIdHeaderMiddleware",
    "outages.middleware.GateSnapshotPerRequestMiddleware",
    # Before anything that may answer early (a refused Host header, the HTTPS redirect), so
    # every response carries the policy and refuses framing.
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.StaffAdminRequiresMFAMiddleware",
    "accounts.middleware.FirstSignInMiddleware",
    "outages.middleware.MaintenanceGateMiddleware",
    # Exceptions a view lets out, answered with a page: a feature closed meanwhile, and a
    # database outage (503 with Retry-After rather than a 500).
    "outages.middleware.FeatureClosedMiddleware",
    "portal.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
                "outages.context_processors.maintenance_banner",
            ],
        },
    },
]
FORM_RENDERER = "portal.forms.PortalFormRenderer"

# Connections are reused, and checked before reuse, on the primary and the replica alike.
_CONNECTIONS = {
    "conn_max_age": env.int("DJANGO_CONN_MAX_AGE", default=60),
    "conn_health_checks": True,
}
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", **_CONNECTIONS
    )
}
# A read replica for reports and exports (portal/replica.py): read only inside
# `reading_from_replica()`; everything else, and every write, stays on "default".
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = dj_database_url.parse(env.str("DATABASE_REPLICA_URL"), **_CONNECTIONS)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
PORTAL_REPORTS_FROM_REPLICA = "replica" in DATABASES
# PostgreSQL's default random_page_cost (4) is for spinning disks: with it, the planner scans the
# whole grants and users tables for pages that need a few hundred of their rows (the benchmark
# measured 10x the SQL time). 1.1 is the usual value on SSDs. Sent at connection start; behind
# PgBouncer (which refuses the option), set DJANGO_PG_OPTIONS="" and ALTER DATABASE ... SET it.
_PG_OPTIONS = env.str("DJANGO_PG_OPTIONS", default="-c random_page_cost=1.1")
for _database in DATABASES.values():
    if _PG_OPTIONS and _database["ENGINE"].endswith("postgresql"):
        _database.setdefault("OPTIONS", {})["options"] = _PG_OPTIONS
    # PgBouncer in transaction mode cannot keep a cursor open across transactions.
    _database["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DJANGO_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
DATABASE_ROUTERS = ["portal.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# A cache Redis that hangs costs an operation 0.6 s at most (two tries, the second for a pooled
# connection a restart closed), not the system's TCP timeout: the gate then answers from its own
# copy of the maintenance windows, and /healthz says the cache is down.
REDIS_CACHE_OPTIONS = {
    "socket_connect_timeout": 0.3,
    "socket_timeout": 0.3,
    "retry": Retry(NoBackoff(), 1),
}
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis, with this process's memory when Redis fails: see portal/cache.py.
            "BACKEND": "portal.cache.LocalFallbackCache",
            "LOCATION": env.str("DJANGO_CACHE_URL", default=REDIS_URL),
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- allauth -----------------------------------------------------------------------------------
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
# Tell people by e-mail when their password, e-mail address or second factor changes.
ACCOUNT_EMAIL_NOTIFICATIONS = True
# The subject prefix is the portal's name in the recipient's language (portal.adapters).
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_ADAPTER = "portal.adapters.PortalAccountAdapter"
# allauth names the person ("Successfully signed in as …") as the portal does: User.__str__ is
# its display_name, not the username that sign-up makes up from the address.
ACCOUNT_USER_DISPLAY = str
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_ADAPTER = "accounts.mfa.AccountMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Business Portal"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool(
    "MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=not PRODUCTION
)
# Keys that encrypt the authenticator secrets at rest (portal.mfa_adapter): comma-separated
# Fernet keys, the first encrypts and every one decrypts, so a new key goes first and the old one
# stays until `manage.py rotate_mfa_keys` has re-encrypted the secrets. Locally a key derived
# from SECRET_KEY stands in.
PORTAL_MFA_ENCRYPTION_KEYS = [
    key.strip() for key in env.list("PORTAL_MFA_ENCRYPTION_KEY", default=[]) if key.strip()
]
if PRODUCTION and not PORTAL_MFA_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("PORTAL_MFA_ENCRYPTION_KEY is required in production.")
if not PORTAL_MFA_ENCRYPTION_KEYS:
    _derived = hashlib.sha256(f"portal.mfa:{SECRET_KEY}".encode()).digest()
    PORTAL_MFA_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(_derived).decode()]
for _key in PORTAL_MFA_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "PORTAL_MFA_ENCRYPTION_KEY must hold Fernet keys (Fernet.generate_key()), "
            "comma-separated."
        ) from None
LOGIN_REDIRECT_URL = "home"
LOGIN_URL = "account_login"

# --- i18n --------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Toronto"  # what the portal shows; the database stores UTC
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- static files ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- e-mail ------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str(
    "DJANGO_DEFAULT_FROM_EMAIL", default="Business Portal <no-reply@portal.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Any anymail backend, e.g. "anymail.backends.postmark.EmailBackend", with its keys in ANYMAIL.
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
ANYMAIL = {
    key: value
    for key, value in {
        "POSTMARK_SERVER_TOKEN": env.str("POSTMARK_SERVER_TOKEN", default=""),
        "MAILGUN_API_KEY": env.str("MAILGUN_API_KEY", default=""),
        "MAILGUN_SENDER_DOMAIN": env.str("MAILGUN_SENDER_DOMAIN", default=""),
        "SENDGRID_API_KEY": env.str("SENDGRID_API_KEY", default=""),
        "AMAZON_SES_CLIENT_PARAMS": {},
    }.items()
    if value
}

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_DB_REUSE_MAX = 100
CELERY_TIMEZONE = "UTC"
# Later capabilities add their nightly and sweeping jobs here.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "portal-heartbeat": {"task": "portal.tasks.heartbeat", "schedule": 300.0},
    "outages-release-postponed": {
        "task": "outages.tasks.release_postponed_tasks",
        "schedule": 60.0,
    },
    "outages-send-notices": {"task": "outages.tasks.send_maintenance_notices", "schedule": 900.0},
    "portal-sweep-outbox": {"task": "portal.tasks.sweep_outbox", "schedule": 60.0},
    # Billing, at 6 UTC (after midnight in Toronto, winter and summer); each is safe to run twice.
    "billing-close-month": {
        "task": "billing.tasks.close_month",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
    "billing-issue-statements": {
        "task": "billing.tasks.issue_statements",
        "schedule": crontab(minute=15, hour=6, day_of_month=1),
    },
    "billing-find-upgrade-candidates": {
        "task": "billing.tasks.find_upgrade_candidates",
        "schedule": crontab(minute=45, hour=6, day_of_month=1),
    },
    "billing-mark-overdue": {
        "task": "billing.tasks.mark_overdue",
        "schedule": crontab(minute=30, hour=6),
    },
    "returns-apply-pending-events": {
        "task": "returns.tasks.apply_pending_events",
        "schedule": 60.0,
    },
    "returns-retry-owed-charges": {"task": "returns.tasks.retry_owed_charges", "schedule": 3600.0},
    # Hourly: the task sends the day's summaries once the Eastern digest hour has come.
    "returns-daily-summaries": {
        "task": "returns.tasks.send_daily_summaries",
        "schedule": crontab(minute=5),
    },
    "billing-expire-cards": {
        "task": "billing.tasks.expire_cards",
        "schedule": crontab(minute=40, hour=6),
    },
}

# --- security ----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_SECURE = PRODUCTION
# Lax, not Strict: a link from one of the portal's e-mails must open signed in.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = PRODUCTION
# No script reads the CSRF cookie: every form (card.js's too) posts the token as a field.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_HSTS_SECONDS = 31_536_000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# --- payments (billing.gateway) -------------------------------------------------------------------
# Production talks to Stripe with real keys; locally and in CI the Stripe API is localstripe on
# 127.0.0.1:8420 (started by `make run`, .ci/run and the test fixtures), which also serves the
# Stripe.js stand-in.
BILLING_GATEWAY = env.str("BILLING_GATEWAY", default="billing.gateway.StripeGateway")
_LOCALSTRIPE = "" if PRODUCTION else "http://127.0.0.1:8420"
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default=_LOCALSTRIPE)
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="" if PRODUCTION else "sk_test_local")
# Seconds per try of a call to the gateway; with Stripe's two retries and their pauses a gateway
# that never answers costs the page about 3 x 8 + 1.5 s, under gunicorn's 30 s worker timeout.
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=8.0)
STRIPE_PUBLISHABLE_KEY = env.str(
    "STRIPE_PUBLISHABLE_KEY", default="" if PRODUCTION else "pk_test_local"
)
STRIPE_JS_URL = env.str(
    "STRIPE_JS_URL",
    default=f"{STRIPE_API_BASE}/js.stripe.com/v3/"
    if STRIPE_API_BASE
    else "https://js.stripe.com/v3/",
)
if PRODUCTION and not (STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY):
    raise ImproperlyConfigured(
        "STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY are required in production."
    )
STRIPE_JS_ORIGIN = _origin(STRIPE_JS_URL)
STRIPE_API_ORIGIN = _origin(STRIPE_API_BASE) if STRIPE_API_BASE else "https://api.stripe.com"
# A small business reaching either figure over 12 months is offered commercial terms. A figure
# that is no positive number would make every account (or none) a candidate: refused at start.
BILLING_UPGRADE_SHIPMENTS = env.int("BILLING_UPGRADE_SHIPMENTS", default=1000)
try:
    BILLING_UPGRADE_REVENUE = Decimal(env.str("BILLING_UPGRADE_REVENUE", default="25000.00"))
except InvalidOperation:
    BILLING_UPGRADE_REVENUE = Decimal("NaN")
# is_finite first: comparing NaN raises.
if not (
    BILLING_UPGRADE_SHIPMENTS > 0
    and BILLING_UPGRADE_REVENUE.is_finite()
    and BILLING_UPGRADE_REVENUE > 0
):
    raise ImproperlyConfigured(
        "BILLING_UPGRADE_SHIPMENTS (a whole number) and BILLING_UPGRADE_REVENUE (dollars, e.g."
        " 25000.00) must be positive."
    )
BILLING_EXPIRY_WARNING_DAYS = env.int("BILLING_EXPIRY_WARNING_DAYS", default=30)

# --- returns -----------------------------------------------------------------------------------
# The carrier signs each batch of tracking events with this shared secret (HMAC-SHA256 over the
# timestamp and the body); a timestamp further than RETURNS_TRACKING_MAX_SKEW seconds away is
# refused, so a captured request cannot be replayed.
RETURNS_TRACKING_SECRET = env.str(
    "RETURNS_TRACKING_SECRET", default="" if PRODUCTION else "local-tracking-secret"
)
if PRODUCTION and len(RETURNS_TRACKING_SECRET) < 32:
    raise ImproperlyConfigured(
        "RETURNS_TRACKING_SECRET (32+ characters) is required in production."
    )
RETURNS_TRACKING_MAX_SKEW = env.int("RETURNS_TRACKING_MAX_SKEW", default=300)
RETURNS_TRACKING_MAX_BATCH = env.int("RETURNS_TRACKING_MAX_BATCH", default=500)
# The direct return link: labels a visitor may ask for per hour, from one address and per policy.
RETURNS_LINK_RATE_PER_IP = env.int("RETURNS_LINK_RATE_PER_IP", default=20)
RETURNS_LINK_RATE_PER_POLICY = env.int("RETURNS_LINK_RATE_PER_POLICY", default=500)
# Showings of its form per hour from one address: a budget of their own, roomier than labels',
# since a customer may reload the form; it still stops anyone trying tokens or flooding reads.
RETURNS_LINK_VIEWS_PER_IP = env.int("RETURNS_LINK_VIEWS_PER_IP", default=60)
# The hour (Eastern Time) the daily summaries of returns go out.
RETURNS_DIGEST_HOUR = env.int("RETURNS_DIGEST_HOUR", default=7)

CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # Stripe.js (or localstripe's stand-in) draws the card fields: that origin and no other.
        "script-src": [SELF, STRIPE_JS_ORIGIN],
        "frame-src": [STRIPE_JS_ORIGIN],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # allauth's TOTP QR code is a data: SVG
        "font-src": [SELF],
        "connect-src": [SELF, STRIPE_API_ORIGIN],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- logs, metrics, error reports (portal.logs, portal.metrics, portal.sentry) ----------------
# JSON lines in production, readable text on a developer's console; each request's lines (and
# those of the tasks it enqueues) carry its request id.
PORTAL_LOG_FORMAT = env.str("PORTAL_LOG_FORMAT", default="json" if PRODUCTION else "console")
configure_structlog()
LOGGING = logging_config(
    log_format=PORTAL_LOG_FORMAT, level=env.str("DJANGO_LOG_LEVEL", default="INFO")
)
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# Prometheus metrics at /metrics, for staff or `Authorization: Bearer $METRICS_TOKEN`; off: 404.
PORTAL_METRICS_ENABLED = env.bool("PORTAL_METRICS_ENABLED", default=False)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if PORTAL_METRICS_ENABLED:
    INSTALLED_APPS.append("django_prometheus")
    MIDDLEWARE.insert(0, "django_prometheus.middleware.PrometheusBeforeMiddleware")
    MIDDLEWARE.append("django_prometheus.middleware.PrometheusAfterMiddleware")
# Readiness (/healthz/ready) answers from this process's last probe for this long, so probing
# it often cannot load the database.
PORTAL_HEALTH_CACHE_SECONDS = env.float("PORTAL_HEALTH_CACHE_SECONDS", default=5.0)
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    init_sentry(
        dsn=SENTRY_DSN,
        environment=DJANGO_ENV,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- the portal's own -------------------------------------------------------------------------
# Phone numbers the help pages give; shown by templates, never typed into them.
PORTAL_HELP_DESK_PHONE = env.str("PORTAL_HELP_DESK_PHONE", default="1 877 376-1212")
PORTAL_CREDIT_MANAGEMENT_PHONE = env.str("PORTAL_CREDIT_MANAGEMENT_PHONE", default="1 800 267-7651")
PORTAL_SMALL_BUSINESS_PHONE = env.str("PORTAL_SMALL_BUSINESS_PHONE", default="1 877 262-5762")
# CI sets this so a test needing PostgreSQL, Redis or Chromium fails instead of skipping.
PORTAL_REQUIRE_SERVICES = env.bool("PORTAL_REQUIRE_SERVICES", default=False)
# The benchmark's "ok" and floor pages (portal/baselines.py); `make bench` sets it.
PORTAL_BENCH_BASELINES = env.bool("PORTAL_BENCH_BASELINES", default=False)
PORTAL_ADMIN_PATH = env.str("PORTAL_ADMIN_PATH", default="admin").strip("/")

# --- account linking ---------------------------------------------------------------------------
# Where the portal is reached from an e-mail (tasks have no request to build links from).
PORTAL_BASE_URL = env.str(
    "PORTAL_BASE_URL",
    default=f"https://{ALLOWED_HOSTS[0]}" if PRODUCTION else "http://127.0.0.1:8000",
)
# Failed link attempts allowed per key within the window before that key is locked out.
PORTAL_LINK_FAILURE_LIMITS = {
    "user": env.int("PORTAL_LINK_FAILURES_PER_USER", default=5),
    "ip": env.int("PORTAL_LINK_FAILURES_PER_IP", default=20),
    "customer_number": env.int("PORTAL_LINK_FAILURES_PER_CUSTOMER_NUMBER", default=10),
}
PORTAL_LINK_FAILURE_WINDOW = env.int("PORTAL_LINK_FAILURE_WINDOW", default=15 * 60)
PORTAL_LINK_LOCKOUT_SECONDS = env.int("PORTAL_LINK_LOCKOUT_SECONDS", default=30 * 60)
# The removal link in a contact's e-mail: valid this many days from sending, and its pages
# answer at most this many requests per IP address per window.
PORTAL_REMOVAL_LINK_VALID_DAYS = 30
PORTAL_REMOVAL_LINK_RATE_LIMIT = env.int("PORTAL_REMOVAL_LINK_RATE_LIMIT", default=30)
PORTAL_REMOVAL_LINK_RATE_WINDOW = env.int("PORTAL_REMOVAL_LINK_RATE_WINDOW", default=10 * 60)

# --- delegated users ---------------------------------------------------------------------------
PHONENUMBER_DEFAULT_REGION = "CA"
PHONENUMBER_DB_FORMAT = "E164"
# django-sms: "sms.backends.console.SmsBackend" prints texts (local default); production sets
# "sms.backends.twilio.SmsBackend" (needs the `twilio` package and the two keys below) or
# "sms.backends.messagebird.SmsBackend" (`messagebird` package, MESSAGEBIRD_ACCESS_KEY).
SMS_BACKEND = env.str("SMS_BACKEND", default="sms.backends.console.SmsBackend")
DEFAULT_FROM_SMS = env.str("SMS_FROM", default="+15550000000")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
MESSAGEBIRD_ACCESS_KEY = env.str("MESSAGEBIRD_ACCESS_KEY", default="")
# A new user's texted password works this long, and must be replaced at first sign-in.
PORTAL_TEMPORARY_PASSWORD_HOURS = 72
# Confirming a user, a change of rights or an approval needs the second factor entered again
# within this many seconds (allauth's reauthentication by code or security key).
PORTAL_SECOND_FACTOR_MAX_AGE = env.int("PORTAL_SECOND_FACTOR_MAX_AGE", default=300)

# --- the outbox (portal.outbox) ---------------------------------------------------------------
# Tries per message before it is FAILED; a row claimed this long ago with no outcome is UNKNOWN
# (longer than CELERY_TASK_TIME_LIMIT); a due row handed to a worker this long ago without
# being claimed was lost by the broker and is handed over again.
PORTAL_OUTBOX_MAX_ATTEMPTS = env.int("PORTAL_OUTBOX_MAX_ATTEMPTS", default=6)
PORTAL_OUTBOX_SENDING_TIMEOUT = env.int("PORTAL_OUTBOX_SENDING_TIMEOUT", default=10 * 60)
PORTAL_OUTBOX_REQUEUE_AFTER = env.int("PORTAL_OUTBOX_REQUEUE_AFTER", default=2 * 60)
# The gate the outbox asks about a kind's feature (portal imports no app; this names it).
PORTAL_OUTBOX_GATE = "outages.gate.closure_for"
# Heavy parts of pages served from the cache until their account's rows change (portal.fragments);
# off renders every page in full (tests that count a page's worst-case queries turn it off).
PORTAL_FRAGMENT_CACHE = env.bool("PORTAL_FRAGMENT_CACHE", default=True)
# What cached page fragments vary on besides the data (portal.fragments): the maintenance state.
PORTAL_FRAGMENT_STATE = "outages.gate.state_token"
# Provider errors that no retry can cure (e.g. an SMS provider's "number refused"), dotted paths.
PORTAL_OUTBOX_PERMANENT_ERRORS: list[str] = env.list("PORTAL_OUTBOX_PERMANENT_ERRORS", default=[])
