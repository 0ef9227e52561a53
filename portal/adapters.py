from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import get_language

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

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """A new profile keeps the language it signed up in, for the e-mails sent to it later."""
        language = (get_language() or "en")[:2]
        user.language = language if language in dict(settings.LANGUAGES) else "en"
        return super().save_user(request, user, form, commit=commit)
