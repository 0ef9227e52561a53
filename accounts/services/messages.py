"""Delivery rows for the delegated-users messages, created in the caller's transaction and
handed to Celery only after it commits."""

from typing import Any

from accounts import tasks
from accounts.models import BusinessAccount, EmailDelivery, SmsDelivery, User
from accounts.services.guards import after_commit


def queue_email(
    *, kind: EmailDelivery.Kind, to: User, account: BusinessAccount | None, **facts: Any
) -> EmailDelivery:
    """One e-mail to `to`, in their language; `facts` are plain JSON values, never a secret."""
    delivery = EmailDelivery.objects.create(
        kind=kind, user=to, email=to.email, language=to.language, account=account, context=facts
    )
    after_commit(tasks.send_email_delivery.delay, delivery_id=delivery.pk)
    return delivery


def queue_temporary_password(*, user: User, phone: str) -> SmsDelivery:
    """The text that gives a new user their temporary password (made when it is sent)."""
    delivery = SmsDelivery.objects.create(
        kind=SmsDelivery.Kind.TEMPORARY_PASSWORD, user=user, phone=phone, language=user.language
    )
    after_commit(tasks.send_sms_delivery.delay, delivery_id=delivery.pk)
    return delivery
