"""The base of every refusal a service raises for a person to read.

Each subclass sets `message` (lazily translated), so a view shows `str(error)` in the reader's
language; apps subclass it for their own families of refusals.
"""

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


class PortalError(Exception):
    message: "str | _StrPromise" = _("This could not be done.")

    def __str__(self) -> str:
        return str(self.message)
