"""Re-encrypt every authenticator secret with the first key of PORTAL_MFA_ENCRYPTION_KEY.

Rotation: put the new key first (the old one after it), deploy, run this, then drop the old key.
"""

from typing import Any

from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.mfa_adapter import convert_secrets, keyring


class Command(BaseCommand):
    help = "Re-encrypt the two-factor secrets with the first PORTAL_MFA_ENCRYPTION_KEY key."

    def handle(self, *args: Any, **options: Any) -> None:
        ring = keyring()
        with transaction.atomic():
            authenticators = Authenticator.objects.select_for_update().filter(
                type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
            )
            changed = convert_secrets(authenticators, lambda v: ring.rotate(v.encode()).decode())
        self.stdout.write(f"Re-encrypted the secrets of {changed} authenticators.")
