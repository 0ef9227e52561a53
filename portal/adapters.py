from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.utils import user_email
from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

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

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """A texted temporary password stops working when it expires (72 h)."""
        user = super().authenticate(request, **credentials)
        if user is not None and getattr(user, "temporary_password_expired", lambda: False)():
            raise forms.ValidationError(
                _(
                    "Your temporary password has expired. Choose a new password with "
                    "“Forgot your password?”, using the e-mail address %(email)s."
                )
                % {"email": user_email(user)}
            )
        return user

    def set_password(self, user: Any, password: str) -> None:
        """Every password the user chooses (change, reset) replaces a temporary one."""
        user.set_password(password)
        if hasattr(user, "temporary_password_expires_at"):
            user.temporary_password_expires_at = None
        user.save()

    def get_reauthentication_methods(self, user: AbstractBaseUser | AnonymousUser) -> list[dict]:
        """A user with two-factor re-authenticates with it first; the password stays offered.

        Confirming users and approving requests needs the second factor (accounts.second_factor),
        so the page allauth opens for them must ask for it.
        """
        methods = super().get_reauthentication_methods(user)
        return sorted(methods, key=lambda method: not method["id"].startswith("mfa_"))
