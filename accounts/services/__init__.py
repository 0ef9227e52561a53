"""Every write with business rules, one function per use case (import them from here).

linking: a user links an account, removal, suspicious activity; users: an administrator adds,
changes and removes users; requests: the validation queue; administration: support staff.
"""

from accounts.services.administration import (
    mark_administrators,
    save_pre_registration,
    unmark_administrators,
)
from accounts.services.linking import (
    link_account,
    remove_link_with_token,
    remove_links_by_staff,
    remove_own_link,
    report_by_contact,
    report_by_user,
    save_investigation,
)
from accounts.services.requests import (
    Outcome,
    approve_request,
    may_see,
    pending_visible_to,
    prepare_request,
    reject_request,
    submit,
    visible_requests,
)
from accounts.services.users import (
    add_user,
    change_rights,
    remove_user,
    set_default_right,
)

__all__ = [
    "Outcome",
    "add_user",
    "approve_request",
    "change_rights",
    "link_account",
    "mark_administrators",
    "may_see",
    "pending_visible_to",
    "prepare_request",
    "reject_request",
    "remove_link_with_token",
    "remove_links_by_staff",
    "remove_own_link",
    "remove_user",
    "report_by_contact",
    "report_by_user",
    "save_investigation",
    "save_pre_registration",
    "set_default_right",
    "submit",
    "unmark_administrators",
    "visible_requests",
]
