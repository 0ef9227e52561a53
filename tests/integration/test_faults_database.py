"""PostgreSQL lost under traffic and back, with the portal as a real gunicorn process.

The shared PostgreSQL server is not restarted: tests/integration/tcp_proxy.py stands between
the portal and it, and the test cuts every connection (and refuses new ones) for a moment, as a
restart or a network drop would, then restores it. Meanwhile a client keeps showing the direct
return link's form and asking for labels (each a label row and its e-mail row, in one
transaction). While the database is away the portal answers 503 with Retry-After and its
"temporarily unavailable" page, never a 500 or a traceback; no label is written without its
e-mail row nor the other way round; once it is back the same processes answer normally.
"""

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from portal.models import Delivery
from returns.models import Channel, ReturnLabel
from tests import localstripe
from tests.conftest import postgres_in_use, require_service
from tests.integration.tcp_proxy import TcpProxy
from tests.integration.waiting import wait_for
from tests.returns.factories import PolicyFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
OUTAGE_SECONDS = 2.0
WRITTEN = {200, 302}  # the form shown, a label issued


@dataclass
class Answer:
    started: float
    ended: float
    kind: str  # "form" or "label"
    status: int
    retry_after: str | None
    body: str
    location: str


@pytest.fixture
def database_proxy() -> Iterator[TcpProxy]:
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    db = connection.settings_dict
    with TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))) as proxy:
        yield proxy


@pytest.fixture
def portal(database_proxy: TcpProxy, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """gunicorn (two sync workers, DEBUG off) on the test database through the proxy."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = localstripe.free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": (
            f"postgres://{db['USER']}{password}@127.0.0.1:{database_proxy.port}/{db['NAME']}"
        ),
        "REDIS_URL": "",  # e-mails sent in the request, cache in the process
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "RETURNS_LINK_RATE_PER_IP": "100000",
        "RETURNS_LINK_VIEWS_PER_IP": "100000",
        "PYTHONPATH": str(ROOT),
    }
    command = [str(Path(sys.executable).with_name("gunicorn")), "portal.wsgi"]
    command += ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "30"]
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        up = wait_for(lambda: _answers(f"{base}/healthz/live"), 60)
        assert up, log_path.read_text(errors="replace")[-3000:]
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def label_request(n: int, token: str) -> dict[str, str]:
    return {
        "csrfmiddlewaretoken": token,
        "customer_name": "Amélie Tremblay",
        "customer_email": f"amelie{n}@shopper.example",
        "order_reference": f"ORD-{n:05d}",
        "purchase_date": (timezone.localdate()).isoformat(),
        "from_street": "55 rue Saint-Jean",
        "from_city": "Québec",
        "from_province": "QC",
        "from_postal_code": "G1R 1N9",
        "channel": Channel.ONLINE,
    }


class Shopper(threading.Thread):
    """Shows the form and asks for a label, one after the other, until told to stop."""

    def __init__(self, form_url: str) -> None:
        super().__init__(daemon=True)
        self.form_url = form_url
        self.answers: list[Answer] = []
        self.stop = threading.Event()
        self.session = requests.Session()
        first = self.session.get(form_url, timeout=10)
        assert first.status_code == 200, first.text[-2000:]
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', first.text)
        assert found is not None
        self.token = found.group(1)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            started = time.monotonic()
            self._record("form", started, self.session.get(self.form_url, timeout=20))
            started = time.monotonic()
            label = self.session.post(
                self.form_url,
                label_request(n, self.token),
                headers={"Referer": self.form_url},
                allow_redirects=False,
                timeout=20,
            )
            self._record("label", started, label)

    def _record(self, kind: str, started: float, response: requests.Response) -> None:
        self.answers.append(
            Answer(
                started=started,
                ended=time.monotonic(),
                kind=kind,
                status=response.status_code,
                retry_after=response.headers.get("Retry-After"),
                body=response.text,
                location=response.headers.get("Location", ""),
            )
        )

    def count(self, statuses: set[int], after: float = 0.0) -> int:
        return sum(1 for a in list(self.answers) if a.status in statuses and a.started >= after)


def test_the_database_lost_under_traffic_answers_503_writes_whole_labels_and_comes_back(
    portal, database_proxy
):
    base, server = portal
    policy = PolicyFactory.create(channel=Channel.ONLINE, return_window_days=0)
    form_url = base + reverse("returns:direct_link", args=[policy.link_token])
    shopper = Shopper(form_url)
    shopper.start()
    try:
        assert wait_for(lambda: shopper.count({302}) >= 3, 30), shopper.answers[-1:]
        cut_at = time.monotonic()
        database_proxy.cut()
        time.sleep(OUTAGE_SECONDS / 2)
        french = requests.get(form_url, headers={"Accept-Language": "fr-CA"}, timeout=10)
        time.sleep(OUTAGE_SECONDS / 2)
        restored_at = time.monotonic()
        database_proxy.restore()
        back = wait_for(lambda: shopper.count({302}, after=restored_at) >= 3, 30)
    finally:
        shopper.stop.set()
        shopper.join(timeout=30)
    answers = shopper.answers
    assert back, [(a.kind, a.status) for a in answers if a.started >= restored_at][:10]

    assert {a.status for a in answers} <= WRITTEN | {503}, {a.status for a in answers}
    assert not [a for a in answers if "Traceback" in a.body]
    during = [a for a in answers if a.started > cut_at and a.ended < restored_at]
    assert len(during) >= 2 and {a.status for a in during} == {503}
    for outage in (a for a in answers if a.status == 503):
        assert outage.retry_after == "30"
        assert "The portal is temporarily unavailable" in outage.body
    assert french.status_code == 503
    assert "Le portail est temporairement indisponible" in french.text
    after = [a for a in answers if a.started > restored_at]
    assert {a.status for a in after} <= WRITTEN, [(a.kind, a.status) for a in after]
    assert server.poll() is None  # nothing was restarted

    # Each label is whole: its row and its e-mail's row, or neither.
    labels = dict(ReturnLabel.objects.values_list("pk", "tracking_number"))
    mailed = set(Delivery.objects.filter(kind="returns.label").values_list("dedupe_key", flat=True))
    assert mailed == {f"returns.label:{pk}" for pk in labels}
    issued = {a.location.rstrip("/").split("/")[-1] for a in answers if a.status == 302}
    assert issued <= set(labels.values())  # every label the shopper was given exists
