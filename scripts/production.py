"""The portal served as in production, on 127.0.0.1, for the benchmark and the soak.

`production_environment()` is what a real deployment sets (DJANGO_ENV=production and its
secrets, a PostgreSQL database, Redis for cache and broker, persistent connections);
`Deployment` starts gunicorn (2 x cores + 1 workers) and, on demand, a Celery worker, beat and
localstripe, and stops every process it started, by its id, when the block ends.

Requests must carry `X-Forwarded-Proto: https`, as a TLS-terminating proxy would add: production
redirects plain HTTP.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432"
VENV_BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def production_environment(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of every process of the deployment (and of the script driving it)."""
    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url,
        "DJANGO_CONN_MAX_AGE": "600",  # what the README recommends behind gunicorn
        "REDIS_URL": redis_url,
        "PORTAL_MFA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
        "STRIPE_API_BASE": f"http://{HOST}:8420",
        "RETURNS_TRACKING_SECRET": secrets.token_urlsafe(40),
        "DJANGO_LOG_LEVEL": "WARNING",
        "PORTAL_BENCH_BASELINES": "1",
        **extra,
    }


def set_up_driver(environment: dict[str, str], database: str) -> None:
    """Make this process a Django process of the deployment: its database (created if missing),
    migrated, and production's static files manifest collected."""
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if not found.fetchone():
            connection.execute(f'CREATE DATABASE "{database}"')
    os.environ.update(environment)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def gunicorn_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


class Deployment:
    def __init__(self, environment: dict[str, str], *, port: int = 8765, logs: Path) -> None:
        self.environment = environment
        self.port = port
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        logs.mkdir(parents=True, exist_ok=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopped with its children, nothing else
        )
        self.processes[name] = process
        return process

    def web(self, workers: int | None = None) -> None:
        self.start(
            "gunicorn",
            [
                str(VENV_BIN / "gunicorn"),
                "portal.wsgi",
                "--bind", f"{HOST}:{self.port}",
                "--workers", str(workers or gunicorn_workers()),
                "--preload",  # the app loaded once, before forking: shared memory, quick boots
                "--timeout", "60",
            ],
        )  # fmt: skip
        wait_until_serving(f"{self.base_url}/bench/ok", self.processes["gunicorn"])

    def worker(self, *, concurrency: int = 2, include: str = "scripts.bench_tasks") -> None:
        self.start(
            "worker",
            [
                str(VENV_BIN / "celery"), "-A", "portal", "worker",
                "--concurrency", str(concurrency), "--loglevel", "WARNING",
                "--include", include, "--without-gossip", "--without-mingle",
            ],
        )  # fmt: skip

    def beat(self) -> None:
        schedule = self.logs / "celerybeat-schedule"
        self.start(
            "beat",
            [str(VENV_BIN / "celery"), "-A", "portal", "beat", "--schedule", str(schedule)],
        )

    def localstripe(self, port: int = 8420) -> None:
        if _answers(f"http://{HOST}:{port}/js.stripe.com/v3/"):
            return  # one already runs (make run's): share it
        process = self.start(
            "localstripe", [str(VENV_BIN / "localstripe"), "--port", str(port), "--from-scratch"]
        )
        wait_until_serving(f"http://{HOST}:{port}/js.stripe.com/v3/", process)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def pids(self) -> dict[str, list[int]]:
        """Each started process with its children (gunicorn's workers, Celery's pool)."""
        return {name: _family(process.pid) for name, process in self.processes.items()}


@contextmanager
def deployed(environment: dict[str, str], *, logs: Path, port: int = 8765) -> Iterator[Deployment]:
    deployment = Deployment(environment, port=port, logs=logs)
    # Stopped by a signal, the driver still stops what it started (the `finally` below).
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        yield deployment
    finally:
        deployment.stop_all()
        signal.signal(signal.SIGTERM, previous)


def manage(environment: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, check=True)


def wait_until_serving(
    url: str, process: "subprocess.Popen[bytes] | None" = None, seconds: float = 120
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(url):
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: its server stopped ({process.returncode}), see its log")
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def _answers(url: str) -> bool:
    request = urllib.request.Request(url, headers=PROXY_HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=10):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _family(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(child) for child in children.read_text().split()] if children.exists() else []
    return [pid, *(grandchild for kid in kids for grandchild in _family(kid))]


def resident_megabytes(pid: int) -> float:
    """The process's resident memory; 0 once it has exited (its /proc entry is gone)."""
    with contextlib.suppress(FileNotFoundError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
