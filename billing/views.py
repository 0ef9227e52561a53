"""Billing pages of a business account: how it pays, its payment methods, its invoices
(commercial) or statements (small business), and paying an invoice online.

Every page needs a right on the whole account (billing concerns the account itself): CONSULT
reads, MANAGE adds a card, VALIDATE sets the default, removes and pays; a MANAGE-only user who
removes or pays prepares a request for the validators. Another business's account, invoice,
statement or card is a 404. Reading stays open while only writing is interrupted.
"""

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit, rights
from accounts.models import BusinessAccount, Right
from accounts.services.requests import submit
from billing import actions, exports, selectors, services
from billing.exceptions import CardNotAccepted
from billing.forms import PayInvoiceForm, SavedCardForm
from billing.hooks import dependents_of
from billing.models import Invoice, PaymentMethod, Statement
from outages.decorators import feature_required
from outages.features import Feature
from portal import fragments
from portal.exceptions import PortalError
from portal.second_factor import second_factor_confirmed

PAGE_SIZE = 24
LINES_PER_PAGE = 50


def _account(request: Any, account_id: int, level: Right = Right.CONSULT) -> BusinessAccount:
    return rights.get_account_or_404(request.user, level, account_id, whole=True)


def _held(request: Any, account: BusinessAccount) -> Any:
    """The reader's rights on the account, read when the page (or its fragment) first asks."""
    return fragments.lazy(lambda: rights.for_request(request).of(account))


# --- overview ------------------------------------------------------------------------------------


@login_required
@feature_required(Feature.INVOICES)
@require_GET
def overview(request: Any, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    today = timezone.localdate()
    small = account.kind == BusinessAccount.Kind.SMALL_BUSINESS
    profile = fragments.lazy(lambda: selectors.profile_of(account))
    lazy = fragments.lazy
    context = {
        "account": account,
        "fragment_key": fragments.for_account(request, account.pk, today),
        "profile": profile,
        "small_business": small,
        "bill_to_account": lazy(lambda: selectors.bills_to_account(account, profile)),
        "default_method": lazy(lambda: selectors.default_method(account)),
        "methods_count": lazy(lambda: selectors.usable_methods(account).count()),
        "billing_phone": settings.PORTAL_CREDIT_MANAGEMENT_PHONE,
        "held": _held(request, account),
        # Beyond the help page: what a card about to expire would stop (billing.hooks).
        "expiring": lazy(lambda: _expiring(account, today)),
        # Paid when ordering (a small business, or a commercial account without terms): statements.
        "statements": lazy(lambda: selectors.statements_for(request.user, account)[:3]),
        "unbilled": lazy(lambda: selectors.charges_since_last_document(account)),
    }
    if small:
        context["readiness"] = lazy(lambda: selectors.credit_readiness(account, today))
    else:
        context["aging"] = lazy(lambda: selectors.aging(account, today))
        context["invoices"] = lazy(lambda: selectors.invoices_for(request.user, account)[:3])
    return render(request, "billing/overview.html", context)


def _expiring(account: BusinessAccount, today: Any) -> list[tuple[PaymentMethod, list[str]]]:
    cards = selectors.cards_expiring(account, today, settings.BILLING_EXPIRY_WARNING_DAYS)
    return [(card, dependents_of(card)) for card in cards]


# --- payment methods -----------------------------------------------------------------------------


@login_required
@feature_required(Feature.PAYMENT_METHODS)
@require_GET
def methods(request: Any, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    context = {
        "account": account,
        "methods": selectors.payment_methods_for(request.user, account),
        "held": _held(request, account),
    }
    return render(request, "billing/methods.html", context)


@login_required
@feature_required(Feature.PAYMENT_METHODS, write=True)
@require_http_methods(["GET", "POST"])
def add_card(request: Any, account_id: int) -> HttpResponse:
    """GET starts a card entry at the gateway and shows Stripe.js's card fields; the script
    saves the card at the gateway and posts back only the setup's id."""
    account = _account(request, account_id, Right.MANAGE)
    form = SavedCardForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            card = services.save_card(
                actor=request.user,
                account=account,
                setup_id=form.cleaned_data["setup_id"],
                ip=audit.ip_of(request),
            )
        except PortalError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The card %(card)s was saved.") % {"card": card.label})
            return redirect("billing:methods", account.pk)
    elif request.method == "POST":
        messages.error(request, " ".join(str(error) for error in form.errors["setup_id"]))
    try:
        setup = services.start_card_setup(actor=request.user, account=account)
    except PortalError as error:
        messages.error(request, str(error))
        return redirect("billing:methods", account.pk)
    context = {
        "account": account,
        "client_secret": setup.client_secret,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "holder": request.user.get_full_name(),
        # The same words for a card Stripe.js refuses in the browser as for one refused here.
        "refusals": {str(key): str(text) for key, text in CardNotAccepted.MESSAGES.items()},
    }
    return render(request, "billing/add_card.html", context)


@login_required
@feature_required(Feature.PAYMENT_METHODS)
@require_POST
def make_default(request: Any, account_id: int, method_id: int) -> HttpResponse:
    account = _account(request, account_id, Right.VALIDATE)
    get_object_or_404(selectors.usable_methods(account), pk=method_id)
    try:
        method = services.set_default_method(
            actor=request.user, account=account, method_id=method_id, ip=audit.ip_of(request)
        )
    except PortalError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("%(card)s is now the default.") % {"card": method.label})
    return redirect("billing:methods", account.pk)


@login_required
@feature_required(Feature.PAYMENT_METHODS)
@require_http_methods(["GET", "POST"])
@second_factor_confirmed
def remove_method(request: Any, account_id: int, method_id: int) -> HttpResponse:
    """GET says what will stop and asks to confirm; POST removes (or prepares the request)."""
    account = _account(request, account_id, Right.MANAGE)
    method = get_object_or_404(selectors.usable_methods(account), pk=method_id)
    dependents = dependents_of(method)
    held = _held(request, account)
    if request.method == "POST":
        try:
            outcome = submit(
                actor=request.user,
                account=account,
                kind=actions.REMOVE_METHOD,
                payload=actions.remove_method_payload(method=method, dependents=dependents),
                ip=audit.ip_of(request),
            )
        except PortalError as error:
            messages.error(request, str(error))
        else:
            if outcome.queued:
                messages.info(
                    request,
                    _("Your request to remove %(card)s was sent to the account's validators.")
                    % {"card": method.label},
                )
            else:
                messages.success(request, _("%(card)s was removed.") % {"card": method.label})
            return redirect("billing:methods", account.pk)
    context = {
        "account": account,
        "method": method,
        "dependents": dependents,
        "queued": not held.can(Right.VALIDATE),
        "last_one": selectors.usable_methods(account).count() == 1,
        # Paying when ordering, the last card gone means nothing can be ordered or paid.
        "pays_when_ordering": not selectors.bills_to_account(account),
    }
    return render(request, "billing/remove_method.html", context)


# --- invoices ------------------------------------------------------------------------------------


@login_required
@feature_required(Feature.INVOICES)
@require_GET
def invoices(request: Any, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    today = timezone.localdate()
    page = fragments.lazy_page(
        request, lambda: selectors.invoices_for(request.user, account), PAGE_SIZE
    )
    context = {
        "account": account,
        "fragment_key": fragments.for_account(request, account.pk, today),
        "page": page,
        "aging": fragments.lazy(lambda: selectors.aging(account, today)),
        "today": today,
        "held": _held(request, account),
    }
    return render(request, "billing/invoices.html", context)


def _invoice(request: Any, account_id: int, invoice_id: int) -> tuple[BusinessAccount, Invoice]:
    """The invoice and its account in one query: 404 unless the reader may consult the whole
    account (its documents' scope asks exactly that, so the account is not checked apart)."""
    found = get_object_or_404(
        selectors.invoices_for(request.user, account_id).select_related("account"), pk=invoice_id
    )
    return found.account, found


def _lines(document: Invoice | Statement) -> Any:
    """A document's charges, in the order it lists them."""
    return document.charges.order_by("charged_at", "pk")


@login_required
@feature_required(Feature.INVOICES)
@require_GET
def invoice(request: Any, account_id: int, invoice_id: int) -> HttpResponse:
    account, found = _invoice(request, account_id, invoice_id)
    context = {
        "account": account,
        "fragment_key": fragments.for_account(request, account.pk, timezone.localdate()),
        "invoice": found,
        "page": fragments.lazy_page(request, lambda: _lines(found), LINES_PER_PAGE),
        "payments": fragments.lazy(
            lambda: found.payments.select_related("payment_method").order_by("created_at")
        ),
        "days_past_due": selectors.days_past_due(found, timezone.localdate()),
        "held": _held(request, account),
    }
    return render(request, "billing/invoice.html", context)


@login_required
@feature_required(Feature.INVOICES)
@require_GET
def invoice_pdf(request: Any, account_id: int, invoice_id: int) -> HttpResponse:
    _, found = _invoice(request, account_id, invoice_id)
    return exports.invoice_pdf(found)


@login_required
@feature_required(Feature.INVOICES)
@require_GET
def invoice_csv(request: Any, account_id: int, invoice_id: int) -> HttpResponse:
    _, found = _invoice(request, account_id, invoice_id)
    return exports.invoice_csv(found)


@login_required
@feature_required(Feature.INVOICES)
@feature_required(Feature.ONLINE_PAYMENT, write=True)  # the page exists to pay: closed on GET too
@require_http_methods(["GET", "POST"])
@second_factor_confirmed
def pay(request: Any, account_id: int, invoice_id: int) -> HttpResponse:
    """GET: the amount, the card to use, a confirmation. POST pays (or prepares the request)."""
    account = _account(request, account_id, Right.MANAGE)
    found = get_object_or_404(Invoice.objects.filter(account=account), pk=invoice_id)
    cards = selectors.usable_methods(account).filter(kind=PaymentMethod.Kind.CARD)
    if not found.is_payable:
        messages.info(request, _("This invoice has nothing left to pay."))
        return redirect("billing:invoice", account.pk, found.pk)
    default = cards.filter(is_default=True).first() or cards.first()
    form = PayInvoiceForm(
        request.POST or None, cards=cards, initial={"key": uuid.uuid4(), "method": default}
    )
    if request.method == "POST" and form.is_valid():
        done = _submit_payment(request, account, found, form.cleaned_data)
        if done:
            return redirect("billing:invoice", account.pk, found.pk)
    context = {
        "account": account,
        "invoice": found,
        "form": form,
        "has_cards": cards.exists(),
        "queued": not _held(request, account).can(Right.VALIDATE),
    }
    return render(request, "billing/pay.html", context)


def _submit_payment(request: Any, account: BusinessAccount, found: Invoice, data: dict) -> bool:
    try:
        outcome = submit(
            actor=request.user,
            account=account,
            kind=actions.PAY_INVOICE,
            payload=actions.pay_invoice_payload(
                invoice=found, method=data["method"], key=str(data["key"])
            ),
            ip=audit.ip_of(request),
        )
    except PortalError as error:
        messages.error(request, str(error))
        return False
    if outcome.queued:
        messages.info(
            request,
            _("Your request to pay invoice %(number)s was sent to the account's validators.")
            % {"number": found.number},
        )
    else:
        messages.success(
            request,
            _("Invoice %(number)s is paid. A receipt is on its way by e-mail.")
            % {"number": found.number},
        )
    return True


# --- statements ----------------------------------------------------------------------------------


@login_required
@feature_required(Feature.INVOICES)
@require_GET
def statements(request: Any, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    page = Paginator(selectors.statements_for(request.user, account), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "billing/statements.html", {"account": account, "page": page})


def _statement(request: Any, account_id: int, statement_id: int) -> Statement:
    """The statement and its account in one query (see _invoice)."""
    return get_object_or_404(
        selectors.statements_for(request.user, account_id).select_related("account"),
        pk=statement_id,
    )


@login_required
@feature_required(Feature.INVOICES)
@require_GET
def statement(request: Any, account_id: int, statement_id: int) -> HttpResponse:
    found = _statement(request, account_id, statement_id)
    context = {
        "account": found.account,
        "fragment_key": fragments.for_account(request, found.account_id),
        "statement": found,
        "page": fragments.lazy_page(request, lambda: _lines(found), LINES_PER_PAGE),
    }
    return render(request, "billing/statement.html", context)


@login_required
@feature_required(Feature.INVOICES)
@require_GET
def statement_pdf(request: Any, account_id: int, statement_id: int) -> HttpResponse:
    return exports.statement_pdf(_statement(request, account_id, statement_id))


@login_required
@feature_required(Feature.INVOICES)
@require_GET
def statement_csv(request: Any, account_id: int, statement_id: int) -> HttpResponse:
    return exports.statement_csv(_statement(request, account_id, statement_id))
