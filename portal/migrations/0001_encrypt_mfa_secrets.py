"""Encrypt the authenticator secrets allauth stored in the clear before portal.mfa_adapter.

A value that already decrypts with one of the keys is left alone, so running this again changes
nothing.
"""

from cryptography.fernet import InvalidToken
from django.db import migrations

from portal.mfa_adapter import convert_secrets, encrypt_secret, keyring


def _is_encrypted(value):
    try:
        keyring().decrypt(value.encode())
    except InvalidToken:
        return False
    return True


def _encrypt(value):
    return value if _is_encrypted(value) else encrypt_secret(value)


def _decrypt(value):
    return keyring().decrypt(value.encode()).decode() if _is_encrypted(value) else value


def _authenticators(apps):
    Authenticator = apps.get_model("mfa", "Authenticator")
    return Authenticator.objects.filter(type__in=["totp", "recovery_codes"])


def encrypt_secrets(apps, schema_editor):
    convert_secrets(_authenticators(apps), _encrypt)


def decrypt_secrets(apps, schema_editor):
    convert_secrets(_authenticators(apps), _decrypt)


class Migration(migrations.Migration):
    dependencies = [("mfa", "0003_authenticator_type_uniq")]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
