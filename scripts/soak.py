#!/usr/bin/env python
"""The soak: `make soak` (see docs/soak.md for what it measures and how to read it).

1. Builds small data (scripts/bench_data.py, scale 0.02) in its own PostgreSQL database and
   prepares one signed-in persona per virtual user: a profile with an authenticator app (TOTP),
   administrator of a few commercial accounts, each with an open invoice, a card saved at
   localstripe and people pre-registered by support; accounts it may link itself.
2. Serves the portal as in production (scripts/production.py): gunicorn, a Celery worker AND
   beat, localstripe, Redis db 8 as cache and broker.
3. Runs the virtual users for `--minutes`: each loops a weighted mix (signed-in and anonymous
   pages, linking an account through the real form, adding a delegated user through the four
   steps of the wizard, asking for return labels on the public page, signed tracking events,
   report exports, paying an invoice), each write confirmed with a fresh second factor where the
   portal asks for one. Bounded in time and in count; it stops by itself.
4. Samples the Celery queue and the outbox over time, and the memory of every process.
5. Drains (queue empty, no pending row in the outbox) and checks every e-mail and text owed was
   sent exactly once: the outbox's rows against what the counting backends received.
Writes docs/soak.md and docs/soak.json; exits non-zero on any 5xx, a lost or duplicated message,
or a process whose memory grew more than 50%.

    .venv/bin/python scripts/soak.py --minutes 1 --users 4    # a quick look
"""

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.production import (
    HOST,
    POSTGRES,
    PROXY_HEADERS,
    ROOT,
    Deployment,
    deployed,
    gunicorn_workers,
    production_environment,
    resident_megabytes,
    set_up_driver,
)

PG = POSTGRES
# Its own: the test suites use 10 to 15 (one pushes raw strings into db 11's "celery" list, which
# stops a worker reading it), the benchmark 9.
SOAK_REDIS = "redis://127.0.0.1:6379/8"
DOCS = ROOT / "docs"
LOGS = ROOT / "var" / "soak"
MAX_REQUESTS = 500_000  # a bound on count beside the bound on time
MEMORY_GROWTH_LIMIT = 0.5
SECOND_FACTOR_REFRESH = 240  # seconds; the portal accepts one up to 300 s old
TOTP_PERIOD = 30


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=8, help="virtual users")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--database", default="portal_soak")
    parser.add_argument("--port", type=int, default=8775)
    parser.add_argument("--stripe-port", type=int, default=8430)
    parser.add_argument("--drain-minutes", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args()


def main() -> int:
    args = parse_arguments()
    environment = production_environment(
        database_url=f"{PG}/{args.database}",
        redis_url=SOAK_REDIS,
        DJANGO_EMAIL_BACKEND="scripts.bench_tasks.CountingBackend",
        SMS_BACKEND="scripts.soak_backends.CountingSmsBackend",
        STRIPE_API_BASE=f"http://{HOST}:{args.stripe_port}",
        # Every virtual customer comes from 127.0.0.1: the per-address limits of the public
        # return page would stand for one customer, not for many.
        RETURNS_LINK_RATE_PER_IP="100000000",
        RETURNS_LINK_VIEWS_PER_IP="100000000",
    )
    set_up_driver(environment, args.database)
    print(f"building the data at scale {args.scale}", flush=True)
    from scripts import bench_data

    bench_data.build(args.scale)
    _flush_redis()
    figures: dict[str, Any] = {"machine": machine(), "parameters": vars(args)}
    with deployed(environment, logs=LOGS, port=args.port) as deployment:
        deployment.localstripe(args.stripe_port)
        print("preparing the personas", flush=True)
        personas = prepare_personas(args.users, random.Random(args.seed))
        deployment.web()
        deployment.worker()
        for stale in LOGS.glob("celerybeat-schedule*"):
            stale.unlink()  # a fresh deployment's beat: every job's first run on its schedule
        deployment.beat()
        figures.update(soak(deployment, personas, environment, args))
    figures["machine"]["load_average_end"] = os.getloadavg()
    figures["verdict"] = verdict(figures)
    write_report(figures)
    for problem in figures["verdict"]["problems"]:
        print(f"FAILED: {problem}", flush=True)
    return 0 if figures["verdict"]["passed"] else 1


# --- setting up ----------------------------------------------------------------------------------


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(SOAK_REDIS)


def _flush_redis() -> None:
    _redis().flushdb()  # the soak's own database


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        "",
    )  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
        "gunicorn_workers": gunicorn_workers(),
        "load_average_start": os.getloadavg(),
    }


@dataclass
class HomeAccount:
    """An account the persona administers: its open invoice, its card at localstripe, and the
    people support pre-registered for it."""

    account_id: int
    invoice_id: int
    method_id: int
    people: list[int]


@dataclass
class Persona:
    number: int
    email: str
    totp_secret: str
    session_cookie: str
    homes: list[HomeAccount]
    to_link: list[tuple[str, str, str]]  # customer number, postal code, contract number


def prepare_personas(count: int, rng: random.Random) -> list[Persona]:
    """One profile per virtual user, made as support and the user would have made them."""
    from accounts.models import BusinessAccount
    from scripts.bench_data import LARGE_ACCOUNT_ID

    commercial = list(
        BusinessAccount.objects.filter(kind=BusinessAccount.Kind.COMMERCIAL)
        .exclude(pk=LARGE_ACCOUNT_ID)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    homes_of = [commercial[number::count] for number in range(count)]
    every_home = {pk for homes in homes_of for pk in homes}
    linkable = list(
        BusinessAccount.objects.exclude(pk__in=[LARGE_ACCOUNT_ID, *every_home])
        .order_by("pk")
        .values_list("customer_number", "postal_code", "pk")
    )
    personas = []
    for number in range(count):
        personas.append(_persona(number, homes_of[number], linkable, rng))
        print(f"  persona {number}: {len(homes_of[number])} accounts", flush=True)
    return personas


def _persona(
    number: int, home_ids: list[int], linkable: list[tuple[str, str, int]], rng: random.Random
) -> Persona:
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from scripts.bench_data import LARGE_ACCOUNT_ID

    email = f"soak{number}@soak.example"
    user = User.objects.create(
        username=email, email=email, first_name="Soak", last_name=f"User {number}", language="en"
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    _administer(user, LARGE_ACCOUNT_ID)  # the large account: its pages are the heavy ones
    homes = [_home(user, account_id, number) for account_id in home_ids]
    client = Client(SERVER_NAME=HOST)
    client.force_login(user)
    to_link = [(customer, postal, _contract_of(pk)) for customer, postal, pk in linkable]
    rng.shuffle(to_link)
    return Persona(
        number=number,
        email=email,
        totp_secret=secret,
        session_cookie=client.cookies[settings.SESSION_COOKIE_NAME].value,
        homes=homes,
        to_link=to_link,
    )


def _administer(user: Any, account_id: int) -> None:
    from accounts.models import AccountLink, Grant
    from accounts.rights import Right

    link = AccountLink.objects.create(
        user=user,
        account_id=account_id,
        is_administrator=True,
        method=AccountLink.Method.ADMINISTRATOR,
        created_by=user,
    )
    Grant.objects.create(link=link, contract=None, level=Right.VALIDATE)


def _contract_of(account_id: int) -> str:
    from accounts.models import Contract

    contract = (
        Contract.objects.filter(account_id=account_id, status="ACTIVE").order_by("pk").first()
    )
    return contract.number if contract else ""


def _home(user: Any, account_id: int, number: int) -> HomeAccount:
    from accounts.models import BusinessAccount, PreRegistration
    from billing.models import Invoice

    _administer(user, account_id)
    account = BusinessAccount.objects.get(pk=account_id)
    method = _card_at_localstripe(user, account)
    invoice = _payable(Invoice.objects.get(account=account, status=Invoice.Status.OPEN))
    people = [
        PreRegistration.objects.create(
            account=account,
            first_name=f"New{index}",
            last_name=f"Person{account_id}",
            date_of_birth=datetime.date(1988, 3, 14),
            mobile_phone=f"+1613555{account_id * 12 + index:04d}",  # a valid mobile each
            email=f"soak-new-{account_id}-{index}@soak.example",
            language="en" if index % 2 else "fr",
        ).pk
        for index in range(12)
    ]
    return HomeAccount(
        account_id=account_id, invoice_id=invoice.pk, method_id=method, people=people
    )


def _payable(invoice: Any) -> Any:
    """At small scale most open invoices have no charge: give this one a label to pay for."""
    from decimal import Decimal

    from billing.models import Charge

    if invoice.total > 0:
        return invoice
    amount, hst = Decimal("10.00"), Decimal("1.30")
    Charge.objects.create(
        account_id=invoice.account_id,
        invoice=invoice,
        amount=amount,
        hst=hst,
        total=amount + hst,
        description="Return label",
        source_reference=f"soak:{invoice.pk}",
        province="ON",
        status=Charge.Status.INVOICED,
        charged_at=datetime.datetime.combine(
            invoice.period_start, datetime.time(12), tzinfo=datetime.UTC
        ),
    )
    invoice.amount, invoice.hst, invoice.total = amount, hst, amount + hst
    invoice.save(update_fields=["amount", "hst", "total"])
    return invoice


def _card_at_localstripe(user: Any, account: Any) -> int:
    """What the card page does: a setup at the gateway, Stripe.js confirms it with a good card,
    the portal keeps it."""
    import stripe
    from django.conf import settings

    from billing import services
    from billing.models import BillingProfile

    # The bench data names customers localstripe never saw: this account gets a real one.
    BillingProfile.objects.filter(account=account).update(gateway_customer_id="")
    setup = services.start_card_setup(actor=user, account=account)
    client = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    )
    card = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"},
            "billing_details": {"name": "Soak Holder"},
        }
    )
    client.v1.setup_intents.confirm(setup.setup_id, params={"payment_method": card.id})
    saved = services.save_card(actor=user, account=account, setup_id=setup.setup_id, ip=None)
    return int(saved.pk)


# --- recording ----------------------------------------------------------------------------------


@dataclass
class KindFigures:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    moments: list[float] = field(default_factory=list)  # seconds into the run, per request


class Recorder:
    """Every request by kind: its latency and status; 5xx and broken connections as failures,
    other statuses than the one expected as surprises."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kinds: dict[str, KindFigures] = defaultdict(KindFigures)
        self.failures: list[dict[str, Any]] = []
        self.surprises: list[dict[str, Any]] = []
        self.surprise_count = 0
        self.total = 0
        self.tally: Counter[str] = Counter()  # what the virtual users achieved
        self.started = time.monotonic()

    def record(
        self, kind: str, method: str, path: str, status: int, ms: float, expected: Iterable[int]
    ) -> None:
        with self.lock:
            self.total += 1
            figures = self.kinds[kind]
            figures.latencies_ms.append(ms)
            figures.moments.append(time.monotonic() - self.started)
            figures.statuses[status] += 1
            entry = {"kind": kind, "method": method, "path": path, "status": status}
            if status >= 500:
                self.failures.append(entry)
            elif status not in expected:
                self.surprise_count += 1
                if len(self.surprises) < 100:
                    self.surprises.append(entry)

    def broken(self, kind: str, method: str, path: str, error: BaseException) -> None:
        with self.lock:
            self.total += 1
            self.kinds[kind].statuses[0] += 1
            self.failures.append(
                {"kind": kind, "method": method, "path": path, "status": 0,
                 "error": f"{type(error).__name__}: {error}"}
            )  # fmt: skip

    def surprise(self, kind: str, what: str) -> None:
        with self.lock:
            self.surprise_count += 1
            if len(self.surprises) < 100:
                self.surprises.append({"kind": kind, "what": what})

    def achieved(self, what: str) -> None:
        with self.lock:
            self.tally[what] += 1


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- the HTTP side ------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    location: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_KEY = re.compile(r'name="key" value="([^"]+)"')


class Browser:
    """One visitor: its cookies, its CSRF token, plain HTTP to gunicorn as a TLS proxy would
    forward it (X-Forwarded-Proto: https)."""

    def __init__(self, recorder: Recorder, port: int, cookies: dict[str, str] | None = None):
        self.recorder = recorder
        self.port = port
        self.cookies = dict(cookies or {})
        self.csrf = ""

    def get(self, kind: str, path: str, expect: Iterable[int] = (200,)) -> Answer | None:
        return self.call(kind, "GET", path, expect=expect)

    def post(
        self, kind: str, path: str, form: dict[str, Any], expect: Iterable[int] = (302,)
    ) -> Answer | None:
        data = {"csrfmiddlewaretoken": self.csrf, **form}
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"https://{HOST}:{self.port}",
        }
        return self.call(kind, "POST", path, body=urlencode(data).encode(), headers=headers,
                         expect=expect)  # fmt: skip

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        expect: Iterable[int] = (200,),
    ) -> Answer | None:
        sent = {**PROXY_HEADERS, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        connection = http.client.HTTPConnection(HOST, self.port, timeout=120)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.recorder.broken(kind, method, path, error)
            return None
        finally:
            connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
        self.recorder.record(kind, method, path, response.status, elapsed, expect)
        answer = Answer(response.status, response.headers.get("Location", ""), content)
        token = _CSRF.search(answer.text) if b"csrfmiddlewaretoken" in content else None
        if token:
            self.csrf = token.group(1)
        return answer

    def _keep_cookies(self, headers: list[str]) -> None:
        for header in headers:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)


# --- the virtual users --------------------------------------------------------------------------


class VirtualUser:
    """Loops a weighted mix of what a business's staff, its customers and the carrier do."""

    def __init__(
        self,
        persona: Persona,
        recorder: Recorder,
        port: int,
        tracking_secret: str,
        rng: random.Random,
        paths: "Paths",
    ) -> None:
        from django.conf import settings

        self.persona = persona
        self.recorder = recorder
        self.rng = rng
        self.paths = paths
        self.tracking_secret = tracking_secret
        cookies = {settings.SESSION_COOKIE_NAME: persona.session_cookie}
        self.staff = Browser(recorder, port, cookies)
        self.customer = Browser(recorder, port)  # anonymous: the public pages
        self.confirmed_at = 0.0
        self.last_totp_window = -1
        self.people = [(home, person) for home in persona.homes for person in home.people]
        self.unpaid = list(persona.homes)
        self.labels: list[tuple[str, int]] = []  # tracking number, events sent so far
        self.actions: list[tuple[Callable[[float], bool], int]] = [
            (self.browse_signed_in, 40),
            (self.browse_anonymous, 14),
            (self.link_account, 6),
            (self.add_user, 4),
            (self.request_label, 12),
            (self.send_tracking, 10),
            (self.export_report, 6),
            (self.pay_invoice, 3),
        ]

    def run(self, deadline: float) -> None:
        """Every action once (the warm-up: each kind of page and task is loaded early in every
        process, so memory growth after it means something), then the weighted mix."""
        actions, weights = zip(*self.actions, strict=True)
        opening = list(actions)
        while time.monotonic() < deadline and self.recorder.total < MAX_REQUESTS:
            action = opening.pop(0) if opening else self.rng.choices(actions, weights)[0]
            try:
                action(deadline)
            except Exception as error:  # the driver's own bug: recorded, the user goes on
                self.recorder.surprise(action.__name__, f"{type(error).__name__}: {error}")
            time.sleep(self.rng.uniform(0.2, 1.0))  # think time

    # -- staff pages

    def browse_signed_in(self, deadline: float) -> bool:
        account = self.rng.choice(
            [self.paths.large, self.rng.choice(self.persona.homes).account_id]
        )
        name, path = self.rng.choice(self.paths.signed_in(account))
        self.staff.get(name, path)
        return True

    def browse_anonymous(self, deadline: float) -> bool:
        name, path = self.rng.choice(self.paths.anonymous)
        self.customer.get(name, path)
        return True

    def export_report(self, deadline: float) -> bool:
        name, path = self.rng.choice(self.paths.exports(self.paths.large))
        self.staff.get(name, path)
        return True

    # -- linking an account through the form

    def link_account(self, deadline: float) -> bool:
        if not self.persona.to_link:
            return False
        customer, postal, contract = self.persona.to_link.pop()
        if self.staff.get("link: form", self.paths.link) is None:
            return False
        form = {"customer_number": customer, "postal_code": postal, "contract_number": contract}
        answer = self.staff.post("link: submit", self.paths.link, form)
        if answer is not None and answer.status == 302 and "/business/" in answer.location:
            self.recorder.achieved("accounts linked")
        return True

    # -- adding a delegated user: the four steps of the wizard, then the second factor

    def add_user(self, deadline: float) -> bool:
        if not self.people:
            return False
        home, person = self.people.pop()
        steps = self.paths.add_user(home.account_id)
        if self.staff.get("add user: 1 pick (page)", steps["pick"]) is None:
            return False
        moves: list[tuple[str, str, dict[str, Any]]] = [
            ("add user: 1 pick", steps["pick"], {"person": person}),
            ("add user: 2 details", steps["details"], {"email": "", "language": "en"}),
            ("add user: 3 rights", steps["rights"], {"way": "ACCOUNTANT"}),
        ]
        for kind, path, form in moves:
            answer = self.staff.post(kind, path, form)
            if answer is None or answer.status != 302:
                return True
        self.staff.get("add user: 4 review (page)", steps["review"])
        if not self.second_factor(deadline):
            return True
        answer = self.staff.post("add user: 4 confirm", steps["review"], {})
        if answer is None or not answer.location.endswith(steps["users"]):
            self.recorder.surprise("add user: 4 confirm", f"sent to {answer and answer.location}")
            return True
        # A refusal also goes back to the list, with its message: read what the page says.
        done = self.staff.get("add user: users page after", steps["users"])
        if done is not None and "The user was added" in done.text:
            self.recorder.achieved("users added")
        else:
            self.recorder.surprise("add user: 4 confirm", "no confirmation on the users page")
        return True

    # -- paying an invoice with a saved card

    def pay_invoice(self, deadline: float) -> bool:
        if not self.unpaid:
            return False
        home = self.unpaid.pop()
        path = self.paths.pay(home.account_id, home.invoice_id)
        page = self.staff.get("pay: page", path)
        key = _KEY.search(page.text) if page is not None else None
        if key is None or not self.second_factor(deadline):
            return True
        answer = self.staff.post(
            "pay: confirm", path, {"method": home.method_id, "key": key.group(1)}
        )
        if answer is not None and answer.location == self.paths.invoice(
            home.account_id, home.invoice_id
        ):
            self.recorder.achieved("invoices paid")
        elif answer is not None:
            self.recorder.surprise("pay: confirm", f"{answer.status} to {answer.location}")
        return True

    def second_factor(self, deadline: float) -> bool:
        """Re-enter the authenticator's code when the last one is getting old (allauth takes a
        code once per 30 s window and the portal wants one from the last 5 minutes)."""
        import pyotp

        if time.time() - self.confirmed_at < SECOND_FACTOR_REFRESH:
            return True
        window, into = divmod(time.time(), TOTP_PERIOD)
        wait = TOTP_PERIOD - into + 0.2 if window == self.last_totp_window or into > 27 else 0
        if time.monotonic() + wait > deadline:
            return False
        time.sleep(wait)
        self.staff.get("second factor: page", self.paths.reauthenticate)
        code = pyotp.TOTP(self.persona.totp_secret).now()
        self.last_totp_window = int(time.time() // TOTP_PERIOD)
        answer = self.staff.post("second factor: code", self.paths.reauthenticate, {"code": code})
        if answer is None or answer.status != 302:
            return False
        self.confirmed_at = time.time()
        return True

    # -- the business's customers and the carrier

    def request_label(self, deadline: float) -> bool:
        token = self.rng.choice(self.paths.link_tokens)
        path = self.paths.direct_link(token)
        if self.customer.get("label: form", path) is None:
            return False
        number = self.recorder.total
        form = {
            "customer_name": f"Customer {self.persona.number}-{number}",
            "customer_email": f"customer-{self.persona.number}-{number}@soak.example",
            "order_reference": f"SOAK-{self.persona.number}-{number}",
            "purchase_date": (datetime.date.today() - datetime.timedelta(days=3)).isoformat(),
            "from_street": "2 Side Street",
            "from_city": "Ottawa",
            "from_province": "ON",
            "from_postal_code": "K1A 0B1",
            # The first one online, its PDF drawn: WeasyPrint loaded during the warm-up.
            "channel": self.rng.choice(["ONLINE", "POST_OFFICE"]) if self.labels else "ONLINE",
        }
        answer = self.customer.post("label: request", path, form)
        if answer is None or answer.status != 302:
            return True
        self.recorder.achieved("labels issued")
        tracking_number = answer.location.rstrip("/").rsplit("/", 1)[-1]
        self.labels.append((tracking_number, 0))
        self.customer.get("label: done page", answer.location)
        if form["channel"] == "ONLINE" and (len(self.labels) == 1 or self.rng.random() < 0.2):
            self.customer.get("label: PDF", answer.location + "pdf/")
        return True

    def send_tracking(self, deadline: float) -> bool:
        """The carrier's signed batch: the next event of a few labels issued here."""
        moving = [(index, label) for index, label in enumerate(self.labels) if label[1] < 3]
        if not moving:
            return False
        chosen = self.rng.sample(moving, min(len(moving), 5))
        moment = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        kinds = ["ACCEPTED", "IN_TRANSIT", "DELIVERED"]
        events = [
            {"tracking_number": number, "kind": kinds[sent], "place": "OTTAWA ON",
             "occurred_at": (moment - datetime.timedelta(seconds=1)).isoformat()}
            for _, (number, sent) in chosen
        ]  # fmt: skip
        body = json.dumps({"events": events}).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(
            self.tracking_secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Tracking-Timestamp": timestamp,
            "X-Tracking-Signature": signature,
        }
        answer = self.customer.call("tracking: events", "POST", self.paths.tracking, body=body,
                                    headers=headers)  # fmt: skip
        if answer is None or answer.status != 200:
            return True
        for index, (number, sent) in chosen:
            self.labels[index] = (number, sent + 1)
        self.recorder.achieved("tracking events")
        return True


class Paths:
    """The portal's addresses, reversed once."""

    def __init__(self) -> None:
        from django.urls import reverse

        from returns.models import ReturnPolicy
        from scripts.bench_data import LARGE_ACCOUNT_ID

        self.reverse = reverse
        self.large = LARGE_ACCOUNT_ID
        self.link = reverse("accounts:link")
        self.reauthenticate = reverse("mfa_reauthenticate")
        self.tracking = reverse("returns:tracking_events")
        # The large account's policies: billed to its agreement, so a label dropped off is
        # charged to the next invoice (no card involved).
        self.link_tokens = list(
            ReturnPolicy.objects.filter(account_id=LARGE_ACCOUNT_ID, status="ACTIVE")
            .order_by("pk")
            .values_list("link_token", flat=True)
        )
        self.anonymous = [
            ("anonymous: status page", reverse("outages:status")),
            ("anonymous: maintenance archive", reverse("outages:archive")),
            ("anonymous: iCal feed", reverse("outages:ical")),
            ("anonymous: Atom feed", reverse("outages:atom")),
            ("anonymous: JSON feed", reverse("outages:json")),
        ]

    def signed_in(self, account: int) -> list[tuple[str, str]]:
        reverse = self.reverse
        return [
            ("page: home", reverse("home")),
            ("page: account", reverse("accounts:detail", args=[account])),
            ("page: users", reverse("accounts:users", args=[account])),
            ("page: to validate", reverse("accounts:to_validate", args=[account])),
            ("page: audit trail", reverse("accounts:audit", args=[account])),
            ("page: returns policies", reverse("returns:policies", args=[account])),
            ("page: forecast", reverse("returns:forecast", args=[account])),
            ("page: report", reverse("returns:report", args=[account]) + "?grain=day"),
            ("page: billing", reverse("billing:overview", args=[account])),
            ("page: invoices", reverse("billing:invoices", args=[account])),
        ]

    def exports(self, account: int) -> list[tuple[str, str]]:
        csv = self.reverse("returns:report_download", args=[account, "csv"])
        xlsx = self.reverse("returns:report_download", args=[account, "xlsx"])
        return [
            ("export: report CSV by day", csv + "?grain=day"),
            ("export: report XLSX by month", xlsx + "?grain=month"),
            (
                "export: forecast CSV",
                self.reverse("returns:forecast_download", args=[account, "csv"]),
            ),
        ]

    def add_user(self, account: int) -> dict[str, str]:
        names = {"pick": "add_user", "details": "add_details", "rights": "add_rights",
                 "review": "add_review", "users": "users"}  # fmt: skip
        return {
            step: self.reverse(f"accounts:{name}", args=[account]) for step, name in names.items()
        }

    def pay(self, account: int, invoice: int) -> str:
        return self.reverse("billing:pay", args=[account, invoice])

    def invoice(self, account: int, invoice: int) -> str:
        return self.reverse("billing:invoice", args=[account, invoice])

    def direct_link(self, token: str) -> str:
        return self.reverse("returns:direct_link", args=[token])


# --- the run ------------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Every few seconds: the broker's queue, the outbox's rows waiting, each process's memory."""

    def __init__(self, deployment: Deployment, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.deployment = deployment
        self.every = every
        self.stopping = threading.Event()
        self.samples: list[dict[str, Any]] = []
        self.started_at = time.monotonic()

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stopping.is_set():
                self.samples.append(self.sample())
                self.stopping.wait(self.every)
        finally:
            connection.close()

    def sample(self) -> dict[str, Any]:
        from portal.models import Delivery

        waiting = Delivery.objects.filter(status__in=["pending", "sending"]).count()
        return {
            "t": round(time.monotonic() - self.started_at, 1),
            "queue": int(_redis().llen("celery")),
            "outbox_waiting": waiting,
            "memory": memory(self.deployment),
        }


def memory(deployment: Deployment) -> dict[str, float]:
    """Resident MB of every process, by role: "gunicorn master", "gunicorn worker 1", ..."""
    figures = {}
    for name, family in deployment.pids().items():
        main, children = family[0], family[1:]
        figures[f"{name} {_main_role(name)} [{main}]"] = resident_megabytes(main)
        for child in children:
            figures[f"{name} {_child_role(name)} [{child}]"] = resident_megabytes(child)
    return {role: round(mb, 1) for role, mb in figures.items()}


def _main_role(name: str) -> str:
    return {"gunicorn": "master", "worker": "main"}.get(name, "process")


def _child_role(name: str) -> str:
    return {"gunicorn": "worker", "worker": "pool process"}.get(name, "child")


def soak(
    deployment: Deployment, personas: list[Persona], environment: dict[str, str], args: Any
) -> dict[str, Any]:
    recorder = Recorder()
    paths = Paths()
    sampler = Sampler(deployment)
    memory_at_launch = memory(deployment)
    sampler.start()
    users = [
        VirtualUser(persona, recorder, args.port, environment["RETURNS_TRACKING_SECRET"],
                    random.Random(args.seed + persona.number), paths)
        for persona in personas
    ]  # fmt: skip
    started = recorder.started = time.monotonic()
    deadline = started + args.minutes * 60
    warm_up = started + min(120.0, args.minutes * 60 * 0.2)
    threads = [threading.Thread(target=user.run, args=(deadline,)) for user in users]
    print(f"soaking: {len(users)} virtual users for {args.minutes} min", flush=True)
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, warm_up - time.monotonic()))
    memory_after_warm_up = memory(deployment)
    while any(thread.is_alive() for thread in threads):
        time.sleep(5)
        print(
            f"  {time.monotonic() - started:6.0f} s  {recorder.total} requests, "
            f"{len(recorder.failures)} failures, queue {_redis().llen('celery')}",
            flush=True,
        )
    elapsed = time.monotonic() - started
    memory_at_end = memory(deployment)
    drain = drain_outbox(args.drain_minutes * 60)
    sampler.stopping.set()
    sampler.join()
    return {
        "processes": processes_alive(deployment),
        "seconds": round(elapsed, 1),
        "requests": requests_figures(recorder, elapsed),
        "achieved": dict(recorder.tally),
        "failures": recorder.failures,
        "surprises": {"count": recorder.surprise_count, "first": recorder.surprises},
        "queue": queue_figures(sampler.samples),
        "samples": sampler.samples,
        "memory": memory_figures(memory_at_launch, memory_after_warm_up, memory_at_end),
        "memory_trend_mb_per_minute": memory_trend(sampler.samples, warm_up - started),
        "drain": drain,
        "messages": message_figures(),
        "payments": payment_figures(),
    }


def processes_alive(deployment: Deployment) -> dict[str, str]:
    """Whether each process started is still there after the load and the drain."""
    states = {}
    for name, process in deployment.processes.items():
        code = process.poll()
        states[name] = "running" if code is None else f"exited with {code}"
    return states


def drain_outbox(seconds: float) -> dict[str, Any]:
    """Wait until the broker's queue is empty and no row of the outbox waits (the beat's sweeper
    hands over what the broker lost); retries scheduled later count as waiting."""
    from portal.models import Delivery

    started = time.monotonic()
    waiting = Delivery.objects.filter(status__in=["pending", "sending"])
    while time.monotonic() - started < seconds:
        if _redis().llen("celery") == 0 and not waiting.exists():
            time.sleep(3)  # a task taken from the queue may still be running: look again
            if _redis().llen("celery") == 0 and not waiting.exists():
                return {"drained": True, "seconds": round(time.monotonic() - started, 1)}
        time.sleep(2)
    return {"drained": False, "seconds": round(time.monotonic() - started, 1),
            "still_waiting": waiting.count()}  # fmt: skip


# --- figures ------------------------------------------------------------------------------------


def requests_figures(recorder: Recorder, elapsed: float) -> dict[str, Any]:
    kinds = {}
    for kind, figures in sorted(recorder.kinds.items()):
        latencies = figures.latencies_ms
        kinds[kind] = {
            "count": sum(figures.statuses.values()),
            "statuses": {str(status): count for status, count in sorted(figures.statuses.items())},
            "errors_5xx": sum(
                count for status, count in figures.statuses.items() if status >= 500 or status == 0
            ),
            "p50_ms": round(percentile(latencies, 0.50), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "slowest": [
                {"ms": round(ms), "at_s": round(at)}
                for ms, at in sorted(zip(latencies, figures.moments, strict=True), reverse=True)[:5]
            ],
        }
    return {
        "total": recorder.total,
        "per_second": round(recorder.total / elapsed, 1),
        "kinds": kinds,
    }


def queue_figures(samples: list[dict[str, Any]]) -> dict[str, Any]:
    depths = [sample["queue"] for sample in samples] or [0]
    waiting = [sample["outbox_waiting"] for sample in samples] or [0]
    return {
        "samples": len(samples),
        "max": max(depths),
        "mean": round(sum(depths) / len(depths), 1),
        "p95": percentile([float(depth) for depth in depths], 0.95),
        "outbox_waiting_max": max(waiting),
        "series": [(sample["t"], sample["queue"], sample["outbox_waiting"]) for sample in samples],
    }


def memory_trend(samples: list[dict[str, Any]], after: float) -> dict[str, float]:
    """Each process's least-squares slope of resident MB over time after the warm-up: a leak
    climbs steadily, a cache filled once does not."""
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for sample in samples:
        if sample["t"] >= after:
            for role, mb in sample["memory"].items():
                series[role].append((sample["t"] / 60, mb))
    slopes = {}
    for role, points in series.items():
        if len(points) < 3:
            continue
        mean_t = sum(t for t, _ in points) / len(points)
        mean_mb = sum(mb for _, mb in points) / len(points)
        spread = sum((t - mean_t) ** 2 for t, _ in points)
        covariance = sum((t - mean_t) * (mb - mean_mb) for t, mb in points)
        slopes[role] = round(covariance / spread, 2) if spread else 0.0
    return slopes


def memory_figures(
    launch: dict[str, float], warm: dict[str, float], end: dict[str, float]
) -> dict[str, Any]:
    """Growth from after the warm-up (lazy imports and caches filled) to the end, per process."""
    rows = {}
    for role in sorted(set(launch) | set(warm) | set(end)):
        row: dict[str, Any] = {
            "launch": launch.get(role),
            "warm": warm.get(role),
            "end": end.get(role),
        }
        if row["warm"] and row["end"]:
            row["growth"] = round(row["end"] / row["warm"] - 1, 3)
        rows[role] = row
    return rows


def message_figures() -> dict[str, Any]:
    """The outbox's rows by kind and status, against what the counting backends received."""
    from django.db.models import Count

    from portal.models import Delivery
    from scripts.bench_tasks import MAIL_BY_RECIPIENT
    from scripts.soak_backends import SMS_BY_RECIPIENT

    by_kind: dict[str, dict[str, int]] = defaultdict(dict)
    for row in Delivery.objects.values("kind", "status").annotate(n=Count("pk")).order_by("kind"):
        by_kind[row["kind"]][row["status"]] = row["n"]
    store = _redis()
    checks = {}
    for channel, key in (("email", MAIL_BY_RECIPIENT), ("sms", SMS_BY_RECIPIENT)):
        received = {name.decode(): int(count) for name, count in store.hgetall(key).items()}
        sent = Counter(
            Delivery.objects.filter(channel=channel, status="sent").values_list(
                "address", flat=True
            )
        )
        not_sent = Delivery.objects.filter(channel=channel).exclude(status="sent")
        checks[channel] = {
            "rows": Delivery.objects.filter(channel=channel).count(),
            "sent_rows": sum(sent.values()),
            "received": sum(received.values()),
            "recipients": len(set(sent) | set(received)),
            "lost": sum(max(0, sent[a] - received.get(a, 0)) for a in sent),
            "duplicated": sum(max(0, received[a] - sent.get(a, 0)) for a in received),
            "not_sent": dict(Counter(not_sent.values_list("status", flat=True))),
            "not_sent_examples": list(
                not_sent.values("kind", "address", "status", "last_error")[:10]
            ),
        }
    return {"by_kind": dict(by_kind), "checks": checks, "owed": owed_figures()}


def owed_figures() -> dict[str, dict[str, int]]:
    """What the soak's actions owe, from the domain's own rows, against the outbox's rows."""
    from accounts.models import AccountLink, LinkNotice
    from billing.models import Payment
    from portal.models import Delivery
    from returns.models import ReturnLabel

    soak_links = LinkNotice.objects.filter(
        link__user__email__endswith="@soak.example", link__method=AccountLink.Method.SELF
    )
    added = AccountLink.objects.filter(
        method=AccountLink.Method.ADMINISTRATOR, user__email__startswith="soak-new-"
    )
    labels = ReturnLabel.objects.filter(customer_email__endswith="@soak.example")
    paid = Payment.objects.filter(status=Payment.Status.SUCCEEDED)

    def rows(kind: str) -> int:
        return Delivery.objects.filter(kind=kind).count()

    owed = {
        "link notice (one per contact told)": (soak_links, "accounts.link_notice"),
        "welcome e-mail (one per user added)": (added, "accounts.welcome"),
        "temporary password text (one per user added)": (added, "accounts.temporary_password"),
        "label e-mail (one per label)": (labels, "returns.label"),
        "receipt (one per invoice paid)": (paid, "billing.invoice_paid"),
    }
    return {what: {"owed": made.count(), "rows": rows(kind)} for what, (made, kind) in owed.items()}


def payment_figures() -> dict[str, Any]:
    """Each successful payment's intent, looked up at localstripe: it must be there, succeeded,
    for the invoice's amount."""
    import stripe
    from django.conf import settings

    from billing.models import Payment
    from billing.money import to_cents

    client = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    )
    payments = list(Payment.objects.filter(status=Payment.Status.SUCCEEDED))
    confirmed = 0
    for payment in payments:
        intent = client.v1.payment_intents.retrieve(payment.gateway_payment_id)
        confirmed += intent.status == "succeeded" and intent.amount == to_cents(payment.amount)
    failed = Payment.objects.exclude(status=Payment.Status.SUCCEEDED).count()
    return {
        "succeeded": len(payments),
        "confirmed_at_localstripe": confirmed,
        "not_succeeded": failed,
    }


def verdict(figures: dict[str, Any]) -> dict[str, Any]:
    problems = [
        f"{name} {state}: see var/soak/{name}.log"
        for name, state in figures["processes"].items()
        if state != "running"
    ]
    for failure in figures["failures"][:20]:
        problems.append(
            f"{failure['status'] or failure.get('error')} on {failure['method']} {failure['path']}"
        )
    if len(figures["failures"]) > 20:
        problems.append(f"... {len(figures['failures']) - 20} more failures")
    if not figures["drain"]["drained"]:
        problems.append(f"the outbox did not drain: {figures['drain']}")
    for channel, check in figures["messages"]["checks"].items():
        if check["lost"] or check["duplicated"] or check["not_sent"]:
            problems.append(f"{channel}: lost {check['lost']}, duplicated {check['duplicated']}, "
                            f"not sent {check['not_sent']}")  # fmt: skip
    for what, owed in figures["messages"]["owed"].items():
        if owed["owed"] != owed["rows"]:
            problems.append(f"{what}: {owed['owed']} owed, {owed['rows']} in the outbox")
    payments = figures["payments"]
    if payments["confirmed_at_localstripe"] != payments["succeeded"]:
        problems.append(f"payments not found at localstripe: {payments}")
    for role, row in figures["memory"].items():
        if row.get("growth", 0) > MEMORY_GROWTH_LIMIT:
            problems.append(f"memory of {role} grew {row['growth']:.0%}")
    return {"passed": not problems, "problems": problems}


# --- the report ---------------------------------------------------------------------------------


def write_report(figures: dict[str, Any]) -> None:
    DOCS.mkdir(exist_ok=True)
    (DOCS / "soak.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    (DOCS / "soak.md").write_text(render(figures))
    print(f"wrote {DOCS / 'soak.md'} and {DOCS / 'soak.json'}", flush=True)


def render(figures: dict[str, Any]) -> str:
    machine_ = figures["machine"]
    params = figures["parameters"]
    requests = figures["requests"]
    passed = figures["verdict"]["passed"]
    lines = [
        "# Soak",
        "",
        "The portal served as in production on 127.0.0.1 (gunicorn with production settings, a "
        "Celery worker and beat, localstripe, PostgreSQL, Redis), a mixed workload of virtual "
        "users, then a drain and the checks. Made by `make soak` (scripts/soak.py); the raw "
        "figures, with the queue and memory samples, are in docs/soak.json.",
        "",
        "## How to run",
        "",
        "    make soak                                          # 10 minutes, 8 virtual users",
        "    .venv/bin/python scripts/soak.py --minutes 1 --users 4   # a quick look",
        "",
        "It needs PostgreSQL and Redis on 127.0.0.1 (database `portal_soak`, rebuilt each run; "
        "Redis db 8, flushed), ports 8775 (gunicorn) and 8430 (localstripe) free. It exits "
        "non-zero on any 5xx or broken connection, a process of the deployment that stopped, an "
        "e-mail or text lost or sent twice, an "
        "outbox that does not drain, a payment localstripe does not know, or a process whose "
        "memory grew more than 50% between the end of the warm-up and the end.",
        "",
        "## This run",
        "",
        f"- {machine_['date']}, {machine_['cores']} cores ({machine_['cpu']}), "
        f"{machine_['gunicorn_workers']} gunicorn workers, Celery worker concurrency 2; the "
        "machine is shared with other work: load average (1, 5, 15 min) "
        f"{_load(machine_['load_average_start'])} at the start, "
        f"{_load(machine_['load_average_end'])} at the end.",
        f"- {params['users']} virtual users for {figures['seconds']:.0f} s, think time 0.2 to 1 s, "
        f"data at scale {params['scale']}.",
        f"- **{'PASSED' if passed else 'FAILED'}**"
        + ("" if passed else ": " + "; ".join(figures["verdict"]["problems"][:5])),
        f"- {requests['total']} requests ({requests['per_second']} per second); "
        f"{len(figures['failures'])} failures (5xx or broken connection); "
        f"{figures['surprises']['count']} other unexpected answers.",
        "- Processes after the drain: "
        + ", ".join(f"{name} {state}" for name, state in figures["processes"].items())
        + ".",
        "- Achieved: "
        + ", ".join(f"{count} {what}" for what, count in sorted(figures["achieved"].items()))
        + ".",
        "",
        "### Requests by kind",
        "",
        "| kind | requests | statuses | 5xx | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]  # fmt: skip
    for kind, row in requests["kinds"].items():
        statuses = ", ".join(f"{status}: {count}" for status, count in row["statuses"].items())
        lines.append(
            f"| {kind} | {row['count']} | {statuses} | {row['errors_5xx']} | "
            f"{row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['p99_ms']:.0f} |"
        )
    lines += _tail(figures) + _failures(figures) + _queue(figures) + _memory(figures)
    lines += _messages(figures)
    return "\n".join(lines) + "\n"


def _load(values: Iterable[float]) -> str:
    return " / ".join(f"{value:.1f}" for value in values)


def _tail(figures: dict[str, Any]) -> list[str]:
    """When the slowest requests happened, for the kinds whose p99 passed 2 s."""
    slow = {kind: row for kind, row in figures["requests"]["kinds"].items() if row["p99_ms"] > 2000}
    if not slow:
        return []
    lines = ["", "Slowest requests (ms, at seconds into the run) where p99 passed 2 s:", ""]
    for kind, row in slow.items():
        moments = ", ".join(f"{entry['ms']} at {entry['at_s']} s" for entry in row["slowest"])
        lines.append(f"- {kind}: {moments}")
    return lines


def _failures(figures: dict[str, Any]) -> list[str]:
    lines = ["", "### Failures and surprises", ""]
    if not figures["failures"]:
        lines.append("No 5xx and no broken connection.")
    for failure in figures["failures"][:30]:
        lines.append(
            f"- {failure['status'] or failure.get('error')}: {failure['method']} {failure['path']}"
        )
    surprises = figures["surprises"]
    if surprises["count"]:
        lines.append(f"\n{surprises['count']} answers other than the one expected (first ones):\n")
        for surprise in surprises["first"][:15]:
            lines.append(f"- {surprise}")
    return lines


def _queue(figures: dict[str, Any]) -> list[str]:
    queue = figures["queue"]
    drain = figures["drain"]
    return [
        "",
        "### Celery queue and outbox",
        "",
        f"Sampled every 5 s ({queue['samples']} samples): the broker's `celery` list held at most "
        f"{queue['max']} tasks (mean {queue['mean']}, p95 {queue['p95']:.0f}); at most "
        f"{queue['outbox_waiting_max']} outbox rows were waiting (pending or sending). After the "
        f"load, the drain {'took' if drain['drained'] else 'did not finish in'} "
        f"{drain['seconds']:.0f} s.",
    ]


def _memory(figures: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "### Memory (resident MB)",
        "",
        "Growth is from the end of the warm-up (the first 20% of the run, at most 2 minutes, "
        "beginning with every action once per virtual user: lazy imports and caches filled) "
        "to the end of the load.",
        "",
        "| process | at launch | after warm-up | at the end | growth | MB/min after warm-up |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    trend = figures["memory_trend_mb_per_minute"]
    for role, row in figures["memory"].items():
        growth = f"{row['growth']:+.0%}" if "growth" in row else "—"
        cells = [f"{row[key]:.0f}" if row[key] else "—" for key in ("launch", "warm", "end")]
        slope = f"{trend[role]:+.1f}" if role in trend else "—"
        lines.append(f"| {role} | {' | '.join(cells)} | {growth} | {slope} |")
    return lines


def _messages(figures: dict[str, Any]) -> list[str]:
    messages = figures["messages"]
    payments = figures["payments"]
    lines = [
        "",
        "### E-mails and texts: each owed one sent exactly once",
        "",
        "The outbox's rows (portal.models.Delivery) against what the counting backends received "
        "per recipient (scripts/bench_tasks.CountingBackend for e-mail, "
        "scripts/soak_backends.CountingSmsBackend for texts), after the drain.",
        "",
        "| channel | rows | sent | received | recipients | lost | sent twice | not sent |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for channel, check in messages["checks"].items():
        lines.append(
            f"| {channel} | {check['rows']} | {check['sent_rows']} | {check['received']} | "
            f"{check['recipients']} | {check['lost']} | {check['duplicated']} | "
            f"{check['not_sent'] or 'none'} |"
        )
    lines += ["", "| what the soak's actions owe | owed | rows in the outbox |", "|---|---:|---:|"]
    for what, owed in messages["owed"].items():
        lines.append(f"| {what} | {owed['owed']} | {owed['rows']} |")
    lines += ["", "Rows by kind and status: " + "; ".join(
        f"{kind} {statuses}" for kind, statuses in messages["by_kind"].items())]  # fmt: skip
    lines += [
        "",
        "### Payments",
        "",
        "Paid through the real page: the pay form, the authenticator's code at allauth's "
        "reauthentication (a TOTP per virtual user, made with allauth's own functions), then "
        f"the confirmation. {payments['succeeded']} payments succeeded; "
        f"{payments['confirmed_at_localstripe']} of them were found at localstripe as succeeded "
        f"payment intents of the same amount; {payments['not_succeeded']} did not succeed.",
    ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
