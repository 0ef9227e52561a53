"""WCAG 2.1 AA checks (axe-core) on the delegated-users pages, in English and in French: the
users list, each step of "Add a user", the rights grid, the review, the validation queue and the
audit trail."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser

from accounts import actions, audit, services
from accounts.models import AuditEvent
from accounts.rights import Right
from accounts.rightsets import RightSet
from tests.accounts.delegation_factories import PreRegistrationFactory, administrator
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.e2e.test_accessibility import _context, _violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_delegated_users_pages_meet_wcag_aa(live_server: Any, browser: Browser, language: str):
    account = BusinessAccountFactory.create()
    ContractFactory.create(account=account)
    admin = administrator(account).user
    preparer = administrator(account, level=Right.MANAGE).user
    person = PreRegistrationFactory.create(account=account, email="new@x.example")
    AccountLinkFactory.create(account=account, right=Right.CONSULT)
    payload = actions.add_user_payload(
        person=person,
        email=person.email,
        language="en",
        chosen=RightSet({None: Right.MANAGE}),
    )
    request = services.prepare_request(
        actor=preparer, account=account, kind=actions.ADD_USER, payload=payload, ip=None
    )
    audit.record(actor=admin, account=account, event=AuditEvent.Event.LINKED, ip=None)
    client = Client()
    client.force_login(admin)
    # Walk the steps with the test client so the draft is in the browser's session.
    client.post(reverse("accounts:add_user", args=[account.pk]), {"person": person.pk})
    client.post(
        reverse("accounts:add_details", args=[account.pk]),
        {"email": "new@x.example", "language": "en"},
    )
    client.post(reverse("accounts:add_rights", args=[account.pk]), {"way": "PREPARER"})
    client.post(reverse("accounts:add_custom", args=[account.pk]), {"whole": ["10", "20"]})
    context = _context(browser, live_server.url, language, client.session.session_key or "")
    base = f"/business/{account.pk}"
    pages = [
        f"{base}/",
        f"{base}/users/",
        f"{base}/users/add/details/",
        f"{base}/users/add/rights/",
        f"{base}/users/add/rights/custom/",
        f"{base}/users/add/review/",
        f"{base}/to-validate/",
        f"{base}/to-validate/{request.pk}/",
        f"{base}/audit/",
    ]
    problems = [v for path in pages for v in _violations(context, live_server.url + path)]
    context.close()
    assert problems == []
