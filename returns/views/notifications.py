"""Notification settings ("Paramètres des avis") of a business account, and the public page a
recipient's unsubscribe link opens.

CONSULT on the whole account reads the recipients; MANAGE adds, changes and removes them (at
most four). Another business's account or recipient is a 404. Reading stays open during a
maintenance window of return policies; the buttons then say why they are disabled.

The unsubscribe page needs no sign-in and is never closed: its signed token is the
authentication. GET asks to confirm; POST unsubscribes, including the mail client's one-click
POST (RFC 8058, body "List-Unsubscribe=One-Click"), which carries no CSRF token: that view
alone is exempt, since it can do nothing but stop e-mails to the address the token was sent to.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts import audit, rights
from accounts.models import BusinessAccount, Right
from outages.decorators import feature_required
from outages.features import Feature
from portal.exceptions import PortalError
from portal.forms import RadioSelect
from returns import notifications
from returns.exceptions import RecipientExists
from returns.models import NotificationRecipient
from returns.models.notifications import MAX_RECIPIENTS
from returns.services.recipients import (
    RecipientSettings,
    add_recipient,
    events_of,
    recipients_of,
    unsubscribe_recipient,
    update_recipient,
)
from returns.services.recipients import remove_recipient as remove_recipient_service

EVENT_CHOICES = [
    ("ACCEPTED", gettext_lazy("Received: the item was dropped off at a post office")),
    ("EXCEPTION", gettext_lazy("Exception: something may affect the delivery")),
    ("DELIVERED", gettext_lazy("Delivered: the return is complete")),
]


class Checkboxes(forms.CheckboxSelectMultiple):
    """Checkboxes as Bootstrap .form-check rows, like the portal's radio buttons."""

    template_name = "forms/widgets/choices.html"


class RecipientSettingsForm(forms.Form):
    """What can change for a recipient: the language, the events and how they are told."""

    language = forms.ChoiceField(
        label=gettext_lazy("Language of the e-mails"),
        choices=lambda: settings.LANGUAGES,
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events to report"),
        choices=EVENT_CHOICES,
        widget=Checkboxes,
        error_messages={"required": gettext_lazy("Choose at least one event.")},
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("How to send them"),
        choices=NotificationRecipient.Mode.choices,
        widget=RadioSelect,
    )

    def recipient_settings(self) -> RecipientSettings:
        events = set(self.cleaned_data["events"])
        return RecipientSettings(
            language=self.cleaned_data["language"],
            on_accepted="ACCEPTED" in events,
            on_exception="EXCEPTION" in events,
            on_delivered="DELIVERED" in events,
            mode=self.cleaned_data["mode"],
        )


class RecipientForm(RecipientSettingsForm):
    """A new recipient: its address too."""

    email = forms.EmailField(label=gettext_lazy("E-mail address"), max_length=254)
    field_order = ["email", "language", "events", "mode"]


def _settings_form(recipient: NotificationRecipient, data: Any = None) -> RecipientSettingsForm:
    return RecipientSettingsForm(
        data,
        prefix=f"recipient-{recipient.pk}",
        initial={
            "language": recipient.language,
            "events": events_of(recipient),
            "mode": recipient.mode,
        },
    )


def hour_words(hour: int) -> str:
    """An hour of the day as the portal writes it: "7 a.m." / "7 h"."""
    if (translation.get_language() or "en").startswith("fr"):
        return f"{hour} h"
    if hour in (0, 12):
        return "midnight" if hour == 0 else "noon"
    return f"{hour % 12} {'a.m.' if hour < 12 else 'p.m.'}"


def _account(request: Any, account_id: int, level: Right = Right.CONSULT) -> BusinessAccount:
    # The recipients concern the account itself: a grant on the whole of it is needed.
    return rights.get_account_or_404(request.user, level, account_id, whole=True)


@login_required
@feature_required(Feature.RETURN_POLICIES)
@require_http_methods(["GET", "POST"])
def settings_page(request: Any, account_id: int) -> HttpResponse:
    """GET lists the recipients with the form to add one; POST adds (action=add) or changes
    (action=update, recipient=<id>) one, then comes back here."""
    level = Right.MANAGE if request.method == "POST" else Right.CONSULT
    account = _account(request, account_id, level)
    recipients = recipients_of(account)
    add_form = RecipientForm(prefix="add", initial={"language": request.LANGUAGE_CODE})
    forms_by_id = {recipient.pk: _settings_form(recipient) for recipient in recipients}
    changing: int | None = None
    status = 200
    if request.method == "POST":
        ip = audit.ip_of(request)
        if request.POST.get("action") == "update":
            recipient = _posted_recipient(request, recipients)
            form = forms_by_id[recipient.pk] = _settings_form(recipient, request.POST)
            changing = recipient.pk
            if form.is_valid():
                try:
                    update_recipient(
                        actor=request.user,
                        account=account,
                        recipient_id=recipient.pk,
                        settings=form.recipient_settings(),
                        ip=ip,
                    )
                except PortalError as error:
                    form.add_error(None, str(error))
                else:
                    messages.success(
                        request, _("The settings of %(email)s were saved.") % {"email": recipient}
                    )
                    return redirect("returns:notifications", account.pk)
        else:
            add_form = RecipientForm(request.POST, prefix="add")
            if add_form.is_valid():
                try:
                    added = add_recipient(
                        actor=request.user,
                        account=account,
                        email=add_form.cleaned_data["email"],
                        settings=add_form.recipient_settings(),
                        ip=ip,
                    )
                except RecipientExists as error:
                    add_form.add_error("email", str(error))
                except PortalError as error:
                    add_form.add_error(None, str(error))
                else:
                    messages.success(
                        request,
                        _("%(email)s will receive the returns notifications.") % {"email": added},
                    )
                    return redirect("returns:notifications", account.pk)
        status = 400
    context = {
        "account": account,
        "rows": [(recipient, forms_by_id[recipient.pk]) for recipient in recipients],
        "add_form": add_form,
        "changing": changing,
        "full": len(recipients) >= MAX_RECIPIENTS,
        "max_recipients": MAX_RECIPIENTS,
        "digest_hour": hour_words(settings.RETURNS_DIGEST_HOUR),
    }
    return render(request, "returns/notifications/settings.html", context, status=status)


def _posted_recipient(
    request: Any, recipients: list[NotificationRecipient]
) -> NotificationRecipient:
    wanted = request.POST.get("recipient", "")
    for recipient in recipients:
        if str(recipient.pk) == wanted:
            return recipient
    raise Http404


@login_required
@feature_required(Feature.RETURN_POLICIES)
@require_http_methods(["GET", "POST"])
def remove_recipient(request: Any, account_id: int, recipient_id: int) -> HttpResponse:
    """GET asks to confirm; POST removes the recipient and frees its place."""
    account = _account(request, account_id, Right.MANAGE)
    recipient = next((r for r in recipients_of(account) if r.pk == recipient_id), None)
    if recipient is None:
        raise Http404
    if request.method == "POST":
        try:
            remove_recipient_service(
                actor=request.user,
                account=account,
                recipient_id=recipient.pk,
                ip=audit.ip_of(request),
            )
        except PortalError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("%(email)s will no longer receive the returns notifications.")
                % {"email": recipient},
            )
        return redirect("returns:notifications", account.pk)
    context = {"account": account, "recipient": recipient}
    return render(request, "returns/notifications/remove.html", context)


@csrf_exempt  # the signed token authenticates; a mail client's one-click POST has no CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: Any, token: str) -> HttpResponse:
    """Public: GET asks to confirm, POST unsubscribes (the page's button, or a mail client's
    one-click POST). A tampered or unknown token is a 404 and changes nothing. The page speaks
    the recipient's language, as the e-mail did."""
    recipient_id = notifications.recipient_id_from(token)
    recipient = (
        NotificationRecipient.objects.select_related("account").filter(pk=recipient_id).first()
        if recipient_id is not None
        else None
    )
    if recipient is None:
        raise Http404
    if request.method == "POST":
        recipient = unsubscribe_recipient(recipient.pk, ip=audit.ip_of(request))
        if recipient is None:  # removed meanwhile
            raise Http404
    context = {"recipient": recipient, "account": recipient.account, "token": token}
    with translation.override(recipient.language):
        return render(request, "returns/notifications/unsubscribe.html", context)
