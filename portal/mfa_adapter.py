"""allauth's two-factor hooks: secrets encrypted at rest, and no way to drop a required factor.

allauth passes the TOTP secret and the recovery-code seed through `encrypt()` before saving
them and through `decrypt()` before use. With the keys in PORTAL_MFA_ENCRYPTION_KEYS (from the
environment, never the database) a copy of the database, or anyone reading it through the
admin, cannot produce a user's codes.
"""

from collections.abc import Callable, Iterable
from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def keyring() -> MultiFernet:
    """The first key encrypts; every key decrypts, so keys can be rotated one at a time."""
    return MultiFernet([Fernet(key) for key in settings.PORTAL_MFA_ENCRYPTION_KEYS])


def encrypt_secret(text: str) -> str:
    return keyring().encrypt(text.encode()).decode()


def decrypt_secret(token: str) -> str:
    """Refuses (rather than passes through) anything not encrypted with one of the keys: a value
    planted in the database in the clear must not become a working secret."""
    try:
        return keyring().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "An authenticator secret does not decrypt with PORTAL_MFA_ENCRYPTION_KEY."
        ) from None


def convert_secrets(authenticators: Iterable[Any], convert: Callable[[str], str]) -> int:
    """Apply `convert` to every value allauth passes through encrypt(): the TOTP "secret", the
    recovery codes' "seed" and the "migrated_codes" of profiles imported from
    django-allauth-2fa. Returns how many authenticators changed."""
    changed = 0
    for authenticator in authenticators:
        data = dict(authenticator.data)
        for field in ("secret", "seed"):
            if isinstance(data.get(field), str):
                data[field] = convert(data[field])
        if isinstance(data.get("migrated_codes"), list):
            data["migrated_codes"] = [convert(code) for code in data["migrated_codes"]]
        if data != authenticator.data:
            authenticator.data = data
            authenticator.save(update_fields=["data"])
            changed += 1
    return changed


class PortalMFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": _(
            "Two-factor authentication is required for your profile, so its last method cannot "
            "be deactivated. To replace it, add a security key first."
        ),
    }

    def encrypt(self, text: str) -> str:
        return encrypt_secret(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_secret(encrypted_text)

    def requires_second_factor(self, user: Any) -> bool:
        """Staff reach the admin only with a second factor (portal.middleware). The accounts app
        adds the people a business requires it of."""
        return bool(getattr(user, "is_staff", False))

    def enforce_at_sign_in(self, user: Any) -> None:
        """Called at every sign-in (portal.adapters). The portal has no enrolment step of its
        own: staff without a second factor are held at the admin's door instead."""

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """A user who requires two-factor keeps at least one method besides recovery codes
        (allauth deletes the codes with the last method)."""
        if not self.requires_second_factor(authenticator.user):
            return True
        others = Authenticator.objects.filter(user_id=authenticator.user_id).exclude(
            pk=authenticator.pk
        )
        return others.exclude(type=Authenticator.Type.RECOVERY_CODES).exists()
