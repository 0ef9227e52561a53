"""Two parallel submissions of the same link make one link: the database decides the race."""

import threading
import time
from typing import Any

import pytest
from django.db import connection

from accounts import selectors, services
from accounts.exceptions import AlreadyLinked
from accounts.models import AccountLink
from tests.conftest import postgres_in_use, require_service

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_parallel_submissions_make_one_link(linkable, user, monkeypatch):
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    # Hold each transaction open for a moment after its INSERT, so the second INSERT runs while
    # the first is still uncommitted and has to wait on the unique index.
    real_recipients = selectors.notice_recipients

    def slow_recipients(**kwargs: Any) -> Any:
        time.sleep(0.3)
        return real_recipients(**kwargs)

    monkeypatch.setattr(selectors, "notice_recipients", slow_recipients)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            start.wait()
            services.link_account(user=user, ip="192.0.2.1", **linkable.proofs)
            outcomes.append("linked")
        except AlreadyLinked:
            outcomes.append("already linked")
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == ["already linked", "linked"]
    assert AccountLink.objects.filter(user=user, status=AccountLink.Status.ACTIVE).count() == 1
    assert AccountLink.objects.count() == 1
