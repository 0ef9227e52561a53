"""Read-only admin pages for rows that only the portal's services and jobs write.

Staff read them, never add, edit or delete them: the services keep their rules (and their audit
trail) only if nothing else writes the rows.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For model admins and inlines alike (an inline's has_add_permission also takes `obj`)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A whole model admin that only lists and shows (delivery and postponement records...)."""
