"""What every fuzz test asks of an answer to bad input, and the hypothesis settings they share.

`refused(...)` sends one request in a savepoint rolled back afterwards and checks the three
properties of a refusal: a form error or a clear 4xx (never a 5xx, which the test client raises
as the view's exception), no table changed (tests/security/checksum.py), and nothing that was
sent echoed unescaped into an HTML page.

FUZZ is derandomized: the same examples on every run and every machine, so a red build is
reproducible and a green one stays green. FUZZ_PROFILE=explore draws new examples on each run
(and ten times as many), for a developer hunting for more.
"""

import os
from collections.abc import Callable, Collection, Iterable
from typing import Any

from django.contrib.messages import WARNING, get_messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from hypothesis import HealthCheck, settings

from accounts.models import AuditEvent
from tests.security.checksum import changed_tables, table_checksum
from tests.security.hostile import assert_escaped
from tests.security.world import Caller

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "database": None,  # no example database: CI and a laptop draw the same examples
}
settings.register_profile("ci", max_examples=25, derandomize=True, **_COMMON)
settings.register_profile("explore", max_examples=300, **_COMMON)
FUZZ = settings(settings.get_profile(os.environ.get("FUZZ_PROFILE", "ci")))
FEW = settings(FUZZ, max_examples=min(FUZZ.max_examples, 12))  # for slow requests (big bodies)

# A refusal: the form again with its errors (200 or 400), or a 4xx that says why. A POST-only
# endpoint posted from another page may instead go back to it (302) with an error message.
FORM_ERROR = frozenset({200, 400})
CLEAR_REFUSAL = frozenset({400, 403, 404, 405, 409, 410, 413, 422, 429})
REFUSED = FORM_ERROR | CLEAR_REFUSAL
BACK_WITH_ERROR = frozenset({302})


def refused(
    caller: Caller,
    method: str,
    path: str,
    data: Any = None,
    *,
    statuses: Collection[int] = REFUSED,
    ignore: Iterable[str] = (),
    before_request: Callable[[], None] | None = None,
    audited: Collection[str] = (),
    redirect_says_why: bool = True,
) -> HttpResponse:
    """`caller`'s request, which must be refused without a change; returns the response.

    `before_request` runs first in the same savepoint (the earlier steps of a flow); `ignore`
    names tables a refusal may write by design (the test says why). `redirect_says_why`: a 302
    comes with an error message (unless the page it leads to says it). `audited`: the audit
    events a refusal may record (the audit table is then left out of the checksum, and every row
    added to it must be one of these).
    """
    cache.clear()  # throttling counters: each example meets the form, not a lock-out
    if audited:
        ignore = [*ignore, AuditEvent._meta.label]
    with transaction.atomic():
        if before_request is not None:
            before_request()
        before = table_checksum(ignore=ignore)
        last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = caller.request(method, path, data=data)
        changed = changed_tables(before)
        recorded = set(AuditEvent.objects.filter(pk__gt=last_event).values_list("event", flat=True))
        transaction.set_rollback(True)
    check_refusal(
        response, data, statuses=statuses, changed=changed, redirect_says_why=redirect_says_why
    )
    assert recorded <= set(audited), f"{path}: a refusal recorded {recorded - set(audited)}"
    return response


def check_refusal(
    response: HttpResponse,
    sent: Any,
    *,
    statuses: Collection[int],
    changed: list[str],
    redirect_says_why: bool = True,
) -> None:
    status = response.status_code
    where = f"{getattr(response, 'request', {}).get('PATH_INFO', '?')} answered {status}"
    assert status in statuses, f"{where}, expected one of {sorted(statuses)}"
    assert not changed, f"{where} and changed {changed}"
    if (
        status == 302 and redirect_says_why
    ):  # back to the page it came from: only with a message saying why
        said = [message.level for message in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]
        assert any(level >= WARNING for level in said), f"{where} without an error message"
    if "html" in response.get("Content-Type", ""):
        assert_escaped(response.content.decode(errors="replace"), sent)
