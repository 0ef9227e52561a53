"""What the billing services refuse, each with the message a person reads."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.utils.translation import gettext_lazy as _

from billing.gateway import CardRefused, GatewayUnavailable, Refusal
from portal.exceptions import PortalError


class BillingError(PortalError):
    message = _("This billing operation could not be done.")


class NotAllowed(BillingError):
    message = _("Your rights on this business account do not allow this.")


class CardNotAccepted(BillingError):
    """The gateway refused the card: nothing was saved or charged."""

    MESSAGES = {
        Refusal.DECLINED: _(
            "The card was declined. Nothing was saved or charged; try another card."
        ),
        Refusal.INSUFFICIENT_FUNDS: _(
            "The card was declined for insufficient funds. Nothing was charged; try another card."
        ),
        Refusal.EXPIRED: _("The card has expired. Check its expiry date or use another card."),
        Refusal.INCORRECT_CVC: _(
            "The security code (CVC) is incorrect. Check the three digits on the back of the card."
        ),
        Refusal.AUTHENTICATION_REQUIRED: _(
            "The card's bank asks for an authentication the portal cannot do here. "
            "Use another card."
        ),
        Refusal.PROCESSING_ERROR: _(
            "The card could not be processed. Nothing was charged; "
            "please try again in a few minutes."
        ),
    }

    def __init__(self, refusal: Refusal) -> None:
        super().__init__()
        self.refusal = refusal
        self.message = self.MESSAGES[refusal]


class PaymentServiceUnavailable(BillingError):
    message = _(
        "The payment service is not answering. Nothing was saved or charged; please try again "
        "in a few minutes."
    )


class CardExpired(BillingError):
    message = _("This card has expired. Add a card that is still valid.")


class CardAlreadySaved(BillingError):
    message = _("This card is already saved for this business account.")


class PaymentMethodNotFound(BillingError):
    message = _("This payment method does not exist or is no longer usable.")


class NoUsablePaymentMethod(BillingError):
    message = _("This business account has no usable payment method. Add a card first.")


class InvoiceNotPayable(BillingError):
    message = _("This invoice is already paid or void: there is nothing to pay.")


class OfflinePaymentAmount(BillingError):
    message = _("A cheque or transfer must pay the invoice's whole balance.")


class AlreadyOfThatKind(BillingError):
    message = _("The account is already of that kind.")


class TermsNeedAgreement(BillingError):
    message = _("Credit terms need a commercial account with an active agreement.")


@contextmanager
def gateway_errors() -> Iterator[None]:
    """The gateway's refusals and failures, raised as the messages people read."""
    try:
        yield
    except CardRefused as refused:
        raise CardNotAccepted(refused.refusal) from None
    except GatewayUnavailable as unavailable:
        raise PaymentServiceUnavailable() from unavailable
