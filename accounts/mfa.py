"""Who must keep a second factor: staff (portal), and the people an account administrator added.

An administrator who adds a delegated user decides for the business that the person signs in
with two factors (accounts.middleware makes them enrol); they must not be able to turn it off
afterwards. allauth asks this adapter (settings.MFA_ADAPTER) before deactivating an authenticator.
"""

from typing import Any

from accounts import caching
from accounts.models import AccountLink
from portal.mfa_adapter import PortalMFAAdapter


class AccountMFAAdapter(PortalMFAAdapter):
    def enforce_at_sign_in(self, user: Any) -> None:
        """Someone who requires a second factor and signs in without one enrols before anything
        else (accounts.middleware)."""
        if user.must_enrol_second_factor or self.is_mfa_enabled(user):
            return
        if self.requires_second_factor(user):
            type(user).objects.filter(pk=user.pk).update(must_enrol_second_factor=True)
            caching.user_changed(user.pk)
            user.must_enrol_second_factor = True

    def requires_second_factor(self, user: Any) -> bool:
        if super().requires_second_factor(user):
            return True
        if getattr(user, "must_enrol_second_factor", False):
            return True
        return AccountLink.objects.filter(
            user_id=user.pk,
            status=AccountLink.Status.ACTIVE,
            method=AccountLink.Method.ADMINISTRATOR,
        ).exists()
