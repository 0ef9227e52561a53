"""Every audit row is written here, in the caller's transaction, so it commits with the change."""

from typing import Any

from django.http import HttpRequest

from accounts.models import AuditEvent, BusinessAccount, User


def record(
    *,
    actor: User | None,
    account: BusinessAccount | None,
    event: AuditEvent.Event,
    ip: str | None,
    **details: Any,
) -> AuditEvent:
    """Append one event. `actor` is who acted (None for a contact through their e-mail link)."""
    actor = actor if isinstance(actor, User) else None  # an AnonymousUser is nobody
    return AuditEvent.objects.create(
        event=event,
        actor=actor,
        actor_email=actor.email if actor else "",
        account=account,
        customer_number=account.customer_number if account else "",
        ip=ip or None,
        details=details,
    )


def ip_of(request: HttpRequest) -> str | None:
    """The client address as the web server saw it.

    REMOTE_ADDR only: behind a load balancer, the server (gunicorn's forwarded-allow-ips) is what
    rewrites it; trusting X-Forwarded-For here would let anyone choose the address recorded.
    """
    return request.META.get("REMOTE_ADDR") or None
