"""What the returns services refuse, each with the message a person reads."""

from django.utils.translation import gettext_lazy as _

from portal.exceptions import PortalError


class ReturnsError(PortalError):
    message = _("This could not be done.")


class NotAllowed(ReturnsError):
    message = _("Your rights on this business account do not allow this.")


class PolicyNotFound(ReturnsError):
    message = _("This return policy does not exist or was deleted.")


class NoUsablePayment(ReturnsError):
    """The policy names no agreement or card the account can pay with now."""

    message = _(
        "Returns must be paid by an active parcel-services agreement of the account or by one of "
        "its cards: add a card in Billing, or choose an agreement."
    )


class PolicySuspended(ReturnsError):
    message = _(
        "This policy is suspended: its payment method is not usable. Support staff reinstate it "
        "once the cause is fixed."
    )


class AlreadyInThatState(ReturnsError):
    message = _("The policy is already in that state.")


class LabelsUnavailable(ReturnsError):
    """One message for every reason: the business's customer learns nothing about its account."""

    message = _("Return labels are not available for this link. Please contact the merchant.")


class PurchaseDateRequired(ReturnsError):
    """The policy has a return window: the purchase date decides whether it has passed."""

    message = _("Enter the date of your purchase.")


class ReturnWindowPassed(ReturnsError):
    message = _("The return window for this purchase has passed. Please contact the merchant.")


class TooManyRecipients(ReturnsError):
    message = _("An account can have at most four notification recipients. Remove one first.")


class RecipientExists(ReturnsError):
    message = _("This address already receives the notifications.")
