"""Every removal path locks the account, then the link: two of them at once on the same rows wait
for each other in turn instead of deadlocking (PostgreSQL would end one with an error, a 500)."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from accounts import services
from accounts.models import AccountLink, AuditEvent, BusinessAccount
from accounts.rightsets import RightSet
from accounts.services import administration, guards, linking, users
from tests.accounts.delegation_factories import administrator
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.conftest import postgres_in_use, require_service
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
IP = "192.0.2.9"
STAFF = "staff"  # the thread doing what support staff do in the admin
PAUSE = 0.4


def hold_the_account_a_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between a path's two locks, so both paths are between them at once.

    The staff thread waits before taking an account (under the old order it already held the
    link); any other thread keeps the account a moment before going on to the link.
    """
    real = guards.lock_account

    def lock_account(account: BusinessAccount) -> BusinessAccount:
        if threading.current_thread().name == STAFF:
            time.sleep(PAUSE)
            return real(account)
        locked = real(account)
        time.sleep(PAUSE)
        return locked

    for module in (guards, linking, users, administration):
        monkeypatch.setattr(module, "lock_account", lock_account, raising=False)


def race(**work: Callable[[], Any]) -> dict[str, Any]:
    """Run each piece of work in its own thread (named by its key), started together."""
    start = threading.Barrier(len(work))
    outcomes: dict[str, Any] = {}

    def run(name: str, job: Callable[[], Any]) -> None:
        try:
            start.wait()
            outcomes[name] = job()
        except Exception as error:  # the test reports whatever was raised
            outcomes[name] = error
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=item, name=item[0]) for item in work.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.fixture
def account(db: None) -> BusinessAccount:
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    return BusinessAccountFactory.create()


def test_staff_removal_and_self_removal_of_the_same_link_do_not_deadlock(
    account, staff_user, monkeypatch
):
    administrator(account)
    link = AccountLinkFactory.create(account=account)
    hold_the_account_a_moment(monkeypatch)

    outcomes = race(
        **{
            STAFF: lambda: services.remove_links_by_staff(
                actor=staff_user, link_ids=[link.pk], ip=IP
            ),
            "self": lambda: services.remove_own_link(user=link.user, account=account, ip=IP),
        }
    )

    errors = [o for o in outcomes.values() if isinstance(o, Exception)]
    assert errors == [] or [type(e).__name__ for e in errors] == ["LinkAlreadyRemoved"], outcomes
    link.refresh_from_db()
    assert link.status == AccountLink.Status.REMOVED
    assert AuditEvent.objects.filter(event=AuditEvent.Event.LINK_REMOVED).count() == 1


def test_staff_unmarking_and_an_administrator_removing_the_same_user_do_not_deadlock(
    account, staff_user, monkeypatch
):
    remover = administrator(account)
    target = administrator(account)
    hold_the_account_a_moment(monkeypatch)

    outcomes = race(
        **{
            STAFF: lambda: services.unmark_administrators(
                actor=staff_user, link_ids=[target.pk], ip=IP
            ),
            "administrator": lambda: services.remove_user(
                actor=remover.user, account=account, link_id=target.pk, ip=IP
            ),
        }
    )

    assert not [o for o in outcomes.values() if isinstance(o, Exception)], outcomes
    target.refresh_from_db()
    assert target.status == AccountLink.Status.REMOVED


def test_staff_removal_and_a_rights_change_of_the_same_user_do_not_deadlock(
    account, staff_user, monkeypatch
):
    changer = administrator(account)
    target = AccountLinkFactory.create(account=account, user=UserFactory.create())
    hold_the_account_a_moment(monkeypatch)

    outcomes = race(
        **{
            STAFF: lambda: services.remove_links_by_staff(
                actor=staff_user, link_ids=[target.pk], ip=IP
            ),
            "administrator": lambda: services.change_rights(
                actor=changer.user,
                account=account,
                link_id=target.pk,
                chosen=RightSet.from_payload({"account": 20}),
                ip=IP,
            ),
        }
    )

    errors = [o for o in outcomes.values() if isinstance(o, Exception)]
    # Removed first, the change finds no user to change; changed first, the removal still runs.
    assert errors == [] or [type(e).__name__ for e in errors] == ["UserNotLinked"], outcomes
    target.refresh_from_db()
    assert target.status == AccountLink.Status.REMOVED
