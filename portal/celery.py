import logging
import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_prerun
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


@task_prerun.connect
def start_outside_any_transaction(task: Any = None, **kwargs: Any) -> None:
    """A task on a worker starts outside any transaction. A time limit raised while an earlier
    task of the process committed or rolled back can leave its connection marked as inside one,
    and every later task of the process then fails ("Cannot open a new connection in an atomic
    block"): such a connection is closed and starts afresh, and the error logged."""
    if task is None or task.request.is_eager:
        return  # an eager task runs in its caller's transaction, as it should
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            logging.getLogger(__name__).error(
                "task %s found the %s connection inside a transaction; starting it afresh",
                task.name,
                connection.alias,
            )
            _start_afresh(connection)


def _start_afresh(connection: Any) -> None:
    connection.close()
    connection.connection = None
    connection.in_atomic_block = False
    connection.savepoint_ids, connection.atomic_blocks = [], []
    connection.needs_rollback = connection.closed_in_transaction = False
    connection.commit_on_exit, connection.savepoint_state = True, 0
