"""What the soak's processes send texts through (SMS_BACKEND): a django-sms backend that counts
each text per recipient in Redis, so the soak can check each one owed went out exactly once.
E-mails are counted the same way by scripts.bench_tasks.CountingBackend."""

from collections.abc import Sequence

import redis
from django.conf import settings
from sms.backends.base import BaseSmsBackend
from sms.message import Message

SMS_BY_RECIPIENT = "soak:sms"


class CountingSmsBackend(BaseSmsBackend):
    def send_messages(self, messages: Sequence[Message]) -> int:
        store = redis.Redis.from_url(settings.REDIS_URL)
        with store.pipeline() as pipe:
            for message in messages:
                for recipient in message.recipients:
                    pipe.hincrby(SMS_BY_RECIPIENT, str(recipient), 1)
            pipe.execute()
        return len(messages)
