"""The world the access matrix runs in: two businesses with real objects, and every kind of caller.

Business A and business B each have a contract, a return policy paid by that contract (with its
direct-link token), an online label (token + tracking number), a card, an invoice, a statement, a
notification recipient (with its unsubscribe token), a validation request waiting, and a
bystander user whose link notice carries a removal-link token. A maintenance window (in the
future, closing nothing) gives the admin a window to open.

The callers are signed in with test clients that enforce CSRF (each carries a valid token) and
whose sessions hold what a real browser's would: a second factor confirmed for those who have
one, and the reference of the report they filed (so the "report sent" pages have something to
show to their own browser only). `Caller.request` answers a request with its cookies restored
afterwards, so a request that signs out or rotates the session leaves the caller as it was.
"""

import datetime
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts import removal_links, services
from accounts.models import AccountLink, BusinessAccount, Contract, Grant, LinkNotice, User
from accounts.models import ValidationRequest as Request
from accounts.rights import Right
from accounts.views.linking import REPORTS_SESSION_KEY
from billing.models import Invoice, PaymentMethod, Statement
from outages.models import MaintenanceWindow
from returns import actions as returns_actions
from returns.models import Channel, NotificationRecipient, ReturnLabel, ReturnPolicy
from returns.notifications import unsubscribe_token
from tests.accounts.delegation_factories import administrator, with_totp
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory, LinkNoticeFactory
from tests.billing.factories import (
    BillingProfileFactory,
    CardFactory,
    InvoiceFactory,
    StatementFactory,
)
from tests.factories import UserFactory
from tests.outages.factories import InterruptionFactory, MaintenanceWindowFactory
from tests.returns.factories import ContractPolicyFactory, LabelFactory, RecipientFactory

IP = "198.51.100.23"
# The CSRF secret every caller's cookie holds and every POST sends back (X-CSRFToken).
CSRF_SECRET = "aCsrfSecretOf32CharactersExactly"
assert len(CSRF_SECRET) == 32

# What a URL needs on the account: signing in is enough; any grant of it (a contract's too); a
# grant on the whole of it; its administration (and a grant on the whole of it).
SIGNED, ANY, WHOLE, ADMIN = "signed in", "any grant", "whole account", "administrator"

# allauth keeps whose authentication records a session holds under this key.
_RECORDS_USER_KEY = "account_authentication_methods_user"


@dataclass
class Business:
    """One business and one real object of each kind a URL names by id, slug or token."""

    account: BusinessAccount
    contract: Contract
    policy: ReturnPolicy  # paid by `contract`: a grant on that contract reaches it
    label: ReturnLabel  # online, issued through the policy's direct link
    card: PaymentMethod
    invoice: Invoice
    statement: Statement
    recipient: NotificationRecipient
    bystander: AccountLink  # another user of the account: the one changed and removed
    notice: LinkNotice  # the e-mail about the bystander's link, with its removal link
    request: Request  # deactivating `policy`, waiting for a validator

    def ids(self) -> dict[str, Any]:
        """The value of each URL keyword (account_id is the caller's choice)."""
        return {
            "link_id": self.bystander.pk,
            "request_id": self.request.pk,
            "method_id": self.card.pk,
            "invoice_id": self.invoice.pk,
            "statement_id": self.statement.pk,
            "policy_id": self.policy.pk,
            "recipient_id": self.recipient.pk,
            "tracking_number": self.label.tracking_number,
            "file_format": "csv",
            "removal_token": removal_links.make_token(self.notice),
            "policy_token": self.policy.link_token,
            "unsubscribe_token": unsubscribe_token(self.recipient),
        }


@dataclass
class Caller:
    """Who asks: `home` is the business they act for ("A", "B" or None), `level` what they hold
    there (on the whole account, or on its contract only when `whole` is false)."""

    name: str
    user: User | None = None
    home: str | None = None
    level: Right | None = None
    whole: bool = True
    administrator: bool = False
    first_step: str | None = None  # "password" or "second_factor": first sign-in unfinished
    staff: bool = False
    second_factor: bool = False
    client: Client = field(default_factory=lambda: Client(enforce_csrf_checks=True))
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    def reaches(self, business: str, level: int | None, reach: str) -> bool:
        """Whether this caller passes a URL of `business` needing `level` with `reach`."""
        if reach == SIGNED:
            return self.signed_in
        if self.home != business or self.level is None:
            return False
        if level is not None and self.level < level:
            return False
        if reach == ADMIN:
            return self.administrator and self.whole
        return self.whole or reach == ANY

    def request(self, method: str, path: str, *, csrf: bool = True, data: Any = None) -> Any:
        """One request (a test response), with the caller's cookies as they were set up,
        whatever it changed. A POST carries the CSRF token unless `csrf` is false."""
        self.client.cookies = SimpleCookie(self.cookies)
        extra: dict[str, Any] = {"REMOTE_ADDR": IP}
        if csrf and method == "POST":
            extra["HTTP_X_CSRFTOKEN"] = CSRF_SECRET
        try:
            if method == "POST":
                return self.client.post(path, data or {}, **extra)
            return self.client.get(path, data, **extra)
        finally:
            self.client.cookies = SimpleCookie(self.cookies)


@dataclass
class World:
    a: Business
    b: Business
    callers: list[Caller]
    window: MaintenanceWindow

    def business(self, name: str) -> Business:
        return self.a if name == "A" else self.b

    def caller(self, name: str) -> Caller:
        return next(caller for caller in self.callers if caller.name == name)

    def visitor(self) -> Caller:
        """A first-time anonymous visitor: no session yet, a CSRF cookie only."""
        return Caller("visitor", cookies={settings.CSRF_COOKIE_NAME: CSRF_SECRET})


# --- building it --------------------------------------------------------------------------------


def _business(legal_name: str, preparer: User) -> Business:
    """A business with its objects; `preparer` (MANAGE on the whole of it) prepared the request."""
    account = BusinessAccountFactory.create(
        legal_name=legal_name, kind=BusinessAccount.Kind.COMMERCIAL
    )
    contract = ContractFactory.create(account=account)
    policy = ContractPolicyFactory.create(account=account, contract=contract, channel=Channel.BOTH)
    BillingProfileFactory.create(account=account)
    bystander = AccountLinkFactory.create(account=account, right=Right.CONSULT)
    administrator(account, level=Right.VALIDATE)  # the account always keeps one who validates
    AccountLinkFactory.create(account=account, user=preparer, right=Right.MANAGE)
    return Business(
        account=account,
        contract=contract,
        policy=policy,
        label=LabelFactory.create(policy=policy, channel=Channel.ONLINE),
        card=CardFactory.create(account=account, is_default=False),
        invoice=InvoiceFactory.create(account=account),
        statement=StatementFactory.create(account=account),
        recipient=RecipientFactory.create(account=account),
        bystander=bystander,
        notice=LinkNoticeFactory.create(link=bystander),
        request=services.prepare_request(
            actor=preparer,
            account=account,
            kind=returns_actions.DEACTIVATE,
            payload=returns_actions.policy_payload(policy),
            ip=IP,
        ),
    )


def build() -> World:
    """Both businesses and the callers (inside the caller's transaction: nothing is committed)."""
    a_manager = UserFactory.create()
    a = _business("Boréal Distribution Ltée", preparer=a_manager)
    b = _business("Northern Freight Co.", preparer=UserFactory.create())
    C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE

    def on_a(level: Right, **link: Any) -> User:
        return AccountLinkFactory.create(account=a.account, right=level, **link).user

    def on_contract(level: Right) -> User:
        link = AccountLinkFactory.create(account=a.account, right=0)
        Grant.objects.create(link=link, contract=a.contract, level=level)
        return link.user

    def first_sign_in(**unfinished: Any) -> User:
        user = on_a(C)
        User.objects.filter(pk=user.pk).update(**unfinished)
        return User.objects.get(pk=user.pk)

    staff: dict[str, Any] = {"is_staff": True, "is_superuser": True}
    two: dict[str, Any] = {"second_factor": True}
    contract_only: dict[str, Any] = {"home": "A", "whole": False, **two}
    callers = [
        Caller("anonymous"),
        Caller("no_link", UserFactory.create(), **two),
        Caller(
            "b_user",
            administrator(b.account, level=V).user,
            home="B",
            level=V,
            administrator=True,
            **two,
        ),
        Caller("a_consult", on_a(C), home="A", level=C, **two),
        Caller("a_manage", a_manager, home="A", level=M, **two),
        Caller("a_validate", on_a(V), home="A", level=V, **two),
        Caller("a_consult_contract", on_contract(C), level=C, **contract_only),
        Caller("a_manage_contract", on_contract(M), level=M, **contract_only),
        Caller("a_validate_contract", on_contract(V), level=V, **contract_only),
        Caller(
            "a_administrator",
            administrator(a.account, level=V).user,
            home="A",
            level=V,
            administrator=True,
            **two,
        ),
        Caller(
            "first_sign_in_password",
            first_sign_in(
                temporary_password_expires_at=timezone.now() + datetime.timedelta(days=1),
                must_enrol_second_factor=True,
            ),
            first_step="password",
        ),
        Caller(
            "first_sign_in_second_factor",
            first_sign_in(must_enrol_second_factor=True),
            first_step="second_factor",
        ),
        Caller(
            "removed",
            on_a(V, status=AccountLink.Status.REMOVED, removed_at=timezone.now()),
            **two,
        ),
        Caller("staff_without_2fa", UserFactory.create(**staff), staff=True),
        Caller("staff_with_2fa", UserFactory.create(**staff), staff=True, **two),
    ]
    # A contact reported suspicious activity through A's bystander's removal link: every
    # caller's browser did, so the "report sent" page has something to show it.
    filed = services.report_by_contact(notice=a.notice, description="Orders", ip=IP)
    reports = {f"notice:{a.notice.pk}": filed.reference}
    for caller in callers:
        if caller.second_factor:
            assert caller.user is not None
            with_totp(caller.user)
        _sign_in(caller, reports)
    window = MaintenanceWindowFactory.create(
        starts_at=timezone.now() + datetime.timedelta(days=30),
        ends_at=timezone.now() + datetime.timedelta(days=30, hours=4),
    )
    InterruptionFactory.create(window=window, features=["registration"])
    return World(a=a, b=b, callers=callers, window=window)


def _sign_in(caller: Caller, reports: dict[str, str]) -> None:
    """Sign the caller's client in and fill its session as the caller's browser would have it."""
    client = caller.client
    if caller.user is not None:
        client.force_login(caller.user)
    session = client.session  # an anonymous visitor's too: they filed the contact's report
    filed = dict(reports)
    link = AccountLink.objects.filter(user=caller.user).first() if caller.user else None
    if link is not None:  # a report on their account, filed while linked (the removed user too)
        report = services.report_by_user(
            user=link.user, account=link.account, description="Orders", ip=IP
        )
        filed[f"account:{link.account_id}"] = report.reference
    session[REPORTS_SESSION_KEY] = filed
    if caller.second_factor and caller.user is not None:
        # A second factor entered a moment ago (the module keeps it fresh: its max age is long).
        session[AUTHENTICATION_METHODS_SESSION_KEY] = [
            {"method": "mfa", "type": "totp", "at": time.time(), "reauthenticated": True}
        ]
        session[_RECORDS_USER_KEY] = str(caller.user.pk)
    session.save()
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    caller.cookies = {key: morsel.value for key, morsel in client.cookies.items()}
