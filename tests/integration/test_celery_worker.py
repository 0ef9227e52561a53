"""Tasks go through Redis to a real worker: what production does, unlike the eager test mode."""

import threading
from typing import Any

import pytest
from celery.signals import task_prerun
from django.core import mail
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal import tasks
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_send_email_goes_through_the_broker_to_the_worker(celery_worker):
    ran_in: list[str] = []

    def record(sender: Any = None, **kwargs: Any) -> None:
        ran_in.append(threading.current_thread().name)

    task_prerun.connect(record, sender=tasks.send_email, weak=False)
    try:
        result = tasks.send_email.delay(
            subject="Maintenance tonight",
            body="The portal is down from 20:00 to 22:00.",
            html="<p>The portal is down from 20:00 to 22:00.</p>",
            to=["owner@business.example"],
        )
        delivered = wait_for(lambda: len(mail.outbox) == 1)
    finally:
        task_prerun.disconnect(record, sender=tasks.send_email)

    assert result.id
    assert delivered, "the worker did not deliver within 10 s"
    # Run by the worker's thread after a trip through Redis, not by the caller.
    assert ran_in and threading.current_thread().name not in ran_in
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    assert message.subject == "Maintenance tonight"
    assert message.to == ["owner@business.example"]
    assert message.alternatives[0][0] == "<p>The portal is down from 20:00 to 22:00.</p>"


def test_heartbeat_runs_on_the_worker_and_is_visible_in_the_cache(celery_worker):
    cache.delete("portal:heartbeat")
    before = timezone.now()

    tasks.heartbeat.delay()

    assert wait_for(lambda: cache.get("portal:heartbeat") is not None), "no heartbeat in 10 s"
    stamp = parse_datetime(cache.get("portal:heartbeat"))
    assert stamp is not None
    assert before <= stamp <= timezone.now()


def test_the_worker_is_not_eager(celery_worker):
    assert celery_worker.conf.task_always_eager is False
    assert celery_worker.conf.broker_url.startswith("redis://")
    assert celery_worker.conf.broker_url.endswith("/15")
