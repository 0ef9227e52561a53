from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from portal.tasks import send_email


class PortalAccountAdapter(DefaultAccountAdapter):
    """allauth renders its e-mails in the request (language, links); Celery delivers them."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        message = self.render_mail(template_prefix, email, context)
        html = next(
            (
                content
                for content, mime in getattr(message, "alternatives", [])
                if mime == "text/html"
            ),
            "",
        )
        payload = {
            "subject": message.subject,
            "body": message.body,
            "html": html,
            "to": list(message.to),
        }
        transaction.on_commit(lambda: send_email.delay(**payload))
