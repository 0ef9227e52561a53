import uuid
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.account.utils import user_email
from allauth.core import context as allauth_context
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from portal.mfa_adapter import PortalMFAAdapter
from portal.models import Delivery
from portal.outbox import MessageKind, queue_email


def forget_message(delivery: Delivery) -> None:
    """Once sent, the row keeps no copy of the message: a password-reset e-mail holds a link
    that sets the password (the same is true of a failed row until staff resend or it ages)."""
    Delivery.objects.filter(pk=delivery.pk).update(facts={})
    delivery.facts = {}


# allauth's own e-mails (e-mail confirmation, password reset, security notices): rendered in the
# request that caused them (their links need it) and queued in the outbox as finished text, so a
# broker down at commit loses none. Their facts are the rendered subject, text and HTML; each
# message is its own (a random dedupe key: allauth may send the same one twice on purpose).
ALLAUTH_MESSAGE = MessageKind(
    name="allauth.message",
    channel=Delivery.Channel.EMAIL,
    template_prefix="portal/email/allauth_message",
    after_send=forget_message,
)


class PortalSite(NamedTuple):
    """What allauth's e-mails call `current_site`: the portal's name and where it is reached."""

    name: str
    domain: str


class PortalAccountAdapter(DefaultAccountAdapter):
    """allauth renders its e-mails in the request (links) in the recipient's language; the
    outbox delivers them (ALLAUTH_MESSAGE)."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """The context allauth's own send_mail gives its templates (request, address, site),
        rendered in the language the recipient chose, whatever the language of the request."""
        # allauth sends some notifications from on_commit callbacks, which may run after its
        # request context ended: the adapter kept the request it was made in.
        request = allauth_context.request or self.request
        profile = context.get("user") or _profile_of(email)
        language = _recipient_language(profile)
        with allauth_context.request_context(request), translation.override(language):
            site = PortalSite(name=gettext("Business Portal"), domain=_domain(request))
            full = {"request": request, "email": email, "current_site": site, **context}
            message = self.render_mail(template_prefix, email, full)
        html = next(
            (
                content
                for content, mime in getattr(message, "alternatives", [])
                if mime == "text/html"
            ),
            "",
        )
        queue_email(
            kind=ALLAUTH_MESSAGE.name,
            to=email,
            user=profile if getattr(profile, "pk", None) else None,
            language=language,
            facts={"subject": message.subject, "body": message.body, "html": html},
            dedupe_key=f"{ALLAUTH_MESSAGE.name}:{uuid.uuid4().hex}",
        )

    def send_notification_mail(
        self,
        template_prefix: str,
        user: AbstractBaseUser,
        context: dict[str, Any] | None = None,
        email: str | None = None,
    ) -> None:
        """allauth does not pass the user on; the language of its e-mail is theirs."""
        super().send_notification_mail(
            template_prefix, user, {"user": user, **(context or {})}, email
        )

    def format_email_subject(self, subject: str) -> str:
        """The portal's name, in the language the e-mail is rendered in (send_mail)."""
        return f"[{gettext('Business Portal')}] {subject}"

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

    def login(self, request: HttpRequest, user: AbstractBaseUser) -> None:
        """A second factor the profile requires but lacks is asked for before anything else."""
        super().login(request, user)
        cast(PortalMFAAdapter, get_mfa_adapter()).enforce_at_sign_in(user)

    def set_password(self, user: Any, password: str) -> None:
        """Every password the user chooses (change, reset) replaces a temporary one."""
        user.set_password(password)
        if hasattr(user, "temporary_password_expires_at"):
            user.temporary_password_expires_at = None
        user.save()

    def get_reauthentication_methods(self, user: AbstractBaseUser | AnonymousUser) -> list[dict]:
        """A user with two-factor re-authenticates with it first; the password stays offered.

        Confirming users and approving requests needs the second factor (portal.second_factor),
        so the page allauth opens for them must ask for it.
        """
        methods = super().get_reauthentication_methods(user)
        return sorted(methods, key=lambda method: not method["id"].startswith("mfa_"))


def _recipient_language(profile: Any) -> str:
    """The language of the profile the e-mail goes to; the request's for an unknown address."""
    language = getattr(profile, "language", "")
    if language in dict(settings.LANGUAGES):
        return language
    return get_language() or settings.LANGUAGE_CODE


def _profile_of(email: str) -> Any:
    address = (
        EmailAddress.objects.filter(email__iexact=email)
        .select_related("user")
        .order_by("-verified", "-primary")
        .first()
    )
    if address is not None:
        return address.user
    return get_user_model().objects.filter(email__iexact=email).first()


def _domain(request: HttpRequest | None) -> str:
    """Where the reader reached the portal; without a request, where e-mails send people."""
    if request is not None:
        return request.get_host()
    return urlsplit(settings.PORTAL_BASE_URL).netloc
