"""A checksum of the database: one digest per table, to say which table a request changed.

Read through the ORM (every concrete column of every row, in primary-key order), so it is the
same code on SQLite and PostgreSQL. Left out, each for a reason a refused request may still
write there:

- django_session: a request may rotate the session, set the CSRF token or keep a flow's draft
  (accounts.drafts) there; it holds no business data;
- the user's `last_login` column: signing in (force_login, a reauthentication) stamps it;
- anything a test names in `ignore` (for example the audit trail of an endpoint that records each
  refusal by design); the test says why next to it.
"""

import hashlib
from collections.abc import Iterable

from django.apps import apps
from django.db.models import Model

Checksum = dict[str, str]

# Apps whose tables hold what a user or a business owns, or what decides what they may do.
_APP_LABELS = (
    "auth",
    "contenttypes",
    "portal",
    "accounts",
    "outages",
    "returns",
    "billing",
    "account",  # allauth: e-mail addresses and their confirmations
    "mfa",  # allauth: authenticators
)
_SKIPPED_COLUMNS = frozenset({"last_login"})


def _models(ignore: Iterable[str]) -> list[type[Model]]:
    ignored = set(ignore)
    return [
        model
        for label in _APP_LABELS
        for model in apps.get_app_config(label).get_models()
        if model._meta.label not in ignored and not model._meta.proxy
    ]


def table_checksum(*, ignore: Iterable[str] = ()) -> Checksum:
    """{"app.Model": sha256 of its rows} for every table of the apps above, but `ignore`."""
    digests: Checksum = {}
    for model in _models(ignore):
        columns = [
            field.attname
            for field in model._meta.concrete_fields
            if field.attname not in _SKIPPED_COLUMNS
        ]
        rows = model._base_manager.order_by("pk").values_list(*columns)
        digests[model._meta.label] = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
    return digests


def changed_tables(before: Checksum) -> list[str]:
    """The tables whose rows differ from `before` (computed with the same `ignore`)."""
    after = table_checksum(ignore=_ignored_in(before))
    return sorted(label for label, digest in before.items() if after.get(label) != digest)


def _ignored_in(before: Checksum) -> set[str]:
    return {model._meta.label for model in _models(())} - set(before)
