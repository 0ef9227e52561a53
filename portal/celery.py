import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each task's log lines carry the request id of the request that enqueued it (django-structlog
# puts it in the message's headers; this step binds it in the worker).
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def use_the_portal_s_logging(**kwargs: Any) -> None:
    """Workers and beat log as the web processes do (settings.LOGGING), not Celery's way."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
