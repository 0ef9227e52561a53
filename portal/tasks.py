from smtplib import SMTPException

from celery import shared_task
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone


@shared_task
def heartbeat() -> str:
    """Record that a worker ran a beat job; operators read it in the cache."""
    stamp = timezone.now().isoformat()
    cache.set("portal:heartbeat", stamp, timeout=3600)
    return stamp


@shared_task(autoretry_for=(SMTPException, ConnectionError), retry_backoff=True, max_retries=5)
def send_email(*, subject: str, body: str, to: list[str], html: str = "") -> None:
    """Deliver an e-mail already rendered in the sender's request (allauth's messages)."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
