"""What the benchmark's worker loads beside the portal (`celery worker --include`): a no-op task,
the yardstick of the e-mail fan-out, and an e-mail backend that counts what it is given in Redis,
so the benchmark can check each e-mail went out exactly once."""

import functools
from collections.abc import Sequence

import redis
from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

NOOP_COUNT = "bench:noop"
MAIL_BY_RECIPIENT = "bench:mail"


@functools.cache
def _redis() -> redis.Redis:
    """One client per worker process, as a real provider's would be: a new one per call made
    each no-op and each e-mail pay a connection and a package-metadata lookup (~4 ms)."""
    return redis.Redis.from_url(settings.REDIS_URL)


@shared_task(ignore_result=True)
def noop() -> None:
    _redis().incr(NOOP_COUNT)


class CountingBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        with _redis().pipeline() as pipe:
            for message in email_messages:
                for recipient in message.to:
                    pipe.hincrby(MAIL_BY_RECIPIENT, recipient, 1)
            pipe.execute()
        return len(email_messages)
