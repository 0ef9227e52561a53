"""Billing's use cases; import them from here."""

from billing.services.cards import (
    add_supplier_account,
    expire_cards,
    gateway_customer,
    remove_method,
    save_card,
    set_default_method,
    start_card_setup,
)
from billing.services.charges import charge_for, refund_charge
from billing.services.invoices import close_month, mark_overdue, pay_invoice, record_offline_payment
from billing.services.statements import issue_statements
from billing.services.upgrades import convert_account, find_upgrade_candidates, set_credit_terms

__all__ = [
    "add_supplier_account",
    "charge_for",
    "close_month",
    "convert_account",
    "expire_cards",
    "find_upgrade_candidates",
    "gateway_customer",
    "issue_statements",
    "mark_overdue",
    "pay_invoice",
    "record_offline_payment",
    "refund_charge",
    "remove_method",
    "save_card",
    "set_credit_terms",
    "set_default_method",
    "start_card_setup",
]
