"""The accounts pages, one module per area; urls.py names them from here."""

from accounts.views.home import home
from accounts.views.linking import (
    account_detail,
    link_account,
    removal,
    removal_report,
    removal_report_done,
    remove_own_link,
    report_activity,
    report_done,
    security,
)
from accounts.views.users import (
    add_details,
    add_pick,
    audit_trail,
    default_right,
    remove,
    review,
    rights_custom,
    rights_way,
    users,
)
from accounts.views.validations import approve, reject, request_detail, to_validate

__all__ = [
    "account_detail",
    "add_details",
    "add_pick",
    "approve",
    "audit_trail",
    "default_right",
    "home",
    "link_account",
    "reject",
    "removal",
    "removal_report",
    "removal_report_done",
    "remove",
    "remove_own_link",
    "report_activity",
    "report_done",
    "request_detail",
    "review",
    "rights_custom",
    "rights_way",
    "security",
    "to_validate",
    "users",
]
