"""The one renderer of the portal's messages: e-mail (subject, text and HTML) and text message,
in the recipient's language, with the one `absolute_url` for links in them."""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def absolute_url(path: str) -> str:
    """`path` (from reverse()) as a full URL on settings.PORTAL_BASE_URL: a task has no request."""
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"


def render_email(
    template_prefix: str, *, to: str, language: str, context: dict[str, Any]
) -> EmailMultiAlternatives:
    """`<prefix>_subject.txt`, `<prefix>.txt` and `<prefix>.html` rendered with `language` active.

    The subject's whitespace is collapsed to one line; an HTML template that renders blank adds
    no HTML part. Raises TemplateDoesNotExist.
    """
    with translation.override(language):
        subject = render_to_string(f"{template_prefix}_subject.txt", context)
        message = EmailMultiAlternatives(
            subject=" ".join(subject.split()),
            body=render_to_string(f"{template_prefix}.txt", context),
            to=[to],
            headers={"Auto-Submitted": "auto-generated"},
        )
        html = render_to_string(f"{template_prefix}.html", context)
        if html.strip():  # a message may be text only (allauth's are): no empty HTML part
            message.attach_alternative(html, "text/html")
    return message


def render_text(template_prefix: str, *, language: str, context: dict[str, Any]) -> str:
    """`<prefix>.txt` rendered with `language` active, as one line (a text message)."""
    with translation.override(language):
        text = render_to_string(f"{template_prefix}.txt", context)
    return " ".join(text.split())
