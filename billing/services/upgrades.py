"""Finding small businesses ready for commercial terms, and converting accounts both ways."""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, BusinessAccount, Contact, Contract, User
from billing import selectors
from billing.exceptions import AlreadyOfThatKind, TermsNeedAgreement
from billing.hooks import Reason, payment_method_unusable
from billing.messages import Kind
from billing.models import BillingProfile, Invoice, UpgradeReview
from billing.services.messages import tell_contacts
from portal.fragments import account_scope, changed

Event = AuditEvent.Event
OPEN_REVIEW = [UpgradeReview.Status.OPEN, UpgradeReview.Status.CONTACTED]


def find_upgrade_candidates(*, today: datetime.date) -> list[UpgradeReview]:
    """Open a review for each small business whose trailing 12 months reach a threshold
    (settings BILLING_UPGRADE_SHIPMENTS or BILLING_UPGRADE_REVENUE), and tell its primary
    contacts that a sales representative will call. One open review per account."""
    opened = []
    small = BusinessAccount.objects.filter(kind=BusinessAccount.Kind.SMALL_BUSINESS).exclude(
        upgrade_reviews__status__in=OPEN_REVIEW
    )
    for account in small.iterator():
        readiness = selectors.credit_readiness(account, today)
        if not readiness.reached:
            continue
        with transaction.atomic():
            review = UpgradeReview.objects.create(
                account=account,
                opened_on=today,
                shipments=readiness.shipments,
                revenue=readiness.revenue,
            )
            tell_contacts(
                kind=Kind.UPGRADE_REVIEW,
                account=account,
                contacts=_primary(account),
                about=f"review:{review.pk}",
            )
        opened.append(review)
    return opened


def convert_account(
    *, staff: User, account_id: int, to_kind: str, terms_days: int | None = None
) -> BusinessAccount:
    """Change an account's kind, audited and told to its contacts.

    - To COMMERCIAL: it keeps paying when ordering unless `terms_days` (15 or 30) is given,
      which needs an active agreement. Its open upgrade review is closed as converted.
    - To SMALL_BUSINESS: its agreements are cancelled and bill-to-account ends; open invoices
      stay payable, waiting charges are invoiced at the next monthly close, and the end of the
      agreement is announced like an unusable payment method (billing.hooks).

    Raises AlreadyOfThatKind or TermsNeedAgreement.
    """
    with transaction.atomic():
        account = BusinessAccount.objects.select_for_update().get(pk=account_id)
        if account.kind == to_kind:
            raise AlreadyOfThatKind()
        profile = BillingProfile.objects.select_for_update().get(
            pk=selectors.profile_of(account).pk
        )
        previous = account.kind
        if to_kind == BusinessAccount.Kind.COMMERCIAL:
            _to_commercial(account, profile, terms_days)
        else:
            _to_small_business(account, profile)
        account.kind = to_kind
        account.save(update_fields=["kind"])
        audit.record(
            actor=staff,
            account=account,
            event=Event.ACCOUNT_CONVERTED,
            ip=None,
            previous=previous,
            kind=to_kind,
            terms_days=profile.terms_days,
        )
        tell_contacts(
            kind=Kind.ACCOUNT_CONVERTED,
            account=account,
            contacts=_primary(account) + selectors.billing_recipients(account),
            about=f"converted:{account.pk}:{timezone.now().timestamp()}",
            kind_now=to_kind,
            terms_days=profile.terms_days,
            open_invoices=selectors.open_invoices(account).count(),
        )
    return account


def _to_commercial(
    account: BusinessAccount, profile: BillingProfile, terms_days: int | None
) -> None:
    if terms_days is not None:
        if not selectors.has_active_agreement(account):
            raise TermsNeedAgreement()
        profile.terms_days = terms_days
        profile.save(update_fields=["terms_days"])
    UpgradeReview.objects.filter(account=account, status__in=OPEN_REVIEW).update(
        status=UpgradeReview.Status.CONVERTED
    )
    changed(account_scope(account.pk))


def _to_small_business(account: BusinessAccount, profile: BillingProfile) -> None:
    profile.terms_days = None
    profile.save(update_fields=["terms_days"])
    Contract.objects.filter(account=account, status=Contract.Status.ACTIVE).update(
        status=Contract.Status.EXPIRED, ends_on=timezone.localdate()
    )
    changed(account_scope(account.pk))
    payment_method_unusable.send(
        sender=Invoice, account=account, method=None, reason=Reason.AGREEMENT_ENDED
    )


def _primary(account: BusinessAccount) -> list[Contact]:
    return list(Contact.objects.filter(account=account, role=Contact.Role.PRIMARY).order_by("pk"))


def credit_terms_allowed(account: BusinessAccount) -> bool:
    """Whether staff may grant `account` credit terms: a commercial account with an active
    agreement."""
    return account.kind == BusinessAccount.Kind.COMMERCIAL and selectors.has_active_agreement(
        account
    )


def set_credit_terms(
    *, staff: User, account_id: int, terms_days: int | None, ip: str | None = None
) -> BillingProfile:
    """Grant, change or end an account's credit terms (support staff, from the admin), audited.

    Terms (15 or 30 days) need a commercial account with an active agreement; None ends them
    (the account pays when ordering again; charges already waiting go on the next invoice).
    Setting the terms it already has changes nothing. Raises TermsNeedAgreement, or ValueError
    for terms other than 15 or 30 days.
    """
    if terms_days is not None and terms_days not in BillingProfile.Terms.values:
        raise ValueError(f"credit terms of {terms_days} days are not offered")
    with transaction.atomic():
        account = BusinessAccount.objects.select_for_update().get(pk=account_id)
        profile = BillingProfile.objects.select_for_update().get(
            pk=selectors.profile_of(account).pk
        )
        if terms_days is not None and not credit_terms_allowed(account):
            raise TermsNeedAgreement()
        previous = profile.terms_days
        if previous == terms_days:
            return profile
        profile.terms_days = terms_days
        profile.save(update_fields=["terms_days"])
        audit.record(
            actor=staff,
            account=account,
            event=Event.CREDIT_TERMS_CHANGED,
            ip=ip,
            previous=previous,
            terms_days=terms_days,
        )
    return profile
