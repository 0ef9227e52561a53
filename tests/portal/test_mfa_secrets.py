"""Authenticator secrets are encrypted at rest, and the support admin never shows or sets them."""

import json
import re
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape

from tests.conftest import MFAUser, totp_code
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.portal.test_settings import PRODUCTION_ENV, _clean_env, _run

pytestmark = pytest.mark.django_db


def _stored_data(authenticator: Authenticator) -> str:
    """The column as the database holds it, not as a model would give it back."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator WHERE id = %s", [authenticator.pk])
        return str(cursor.fetchone()[0])


def _sign_in(client, mfa: MFAUser, code: str) -> None:
    response = client.post(
        reverse("account_login"), {"login": mfa.user.email, "password": mfa.password}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302, response.content.decode()
    assert client.session["_auth_user_id"] == str(mfa.user.pk)


def test_totp_secret_and_recovery_seed_are_not_stored_in_the_clear(mfa_user):
    totp = Authenticator.objects.get(user=mfa_user.user, type=Authenticator.Type.TOTP)
    codes = Authenticator.objects.get(user=mfa_user.user, type=Authenticator.Type.RECOVERY_CODES)

    assert mfa_user.secret not in _stored_data(totp)
    seed = RecoveryCodes(codes).generate_codes()
    assert seed == mfa_user.recovery_codes
    stored_seed = json.loads(_stored_data(codes))["seed"]
    assert not re.fullmatch(r"[0-9a-f]{80}", stored_seed)


def test_an_encrypted_totp_secret_still_signs_in(client, mfa_user):
    _sign_in(client, mfa_user, mfa_user.code())


def test_an_encrypted_recovery_seed_still_signs_in(client, mfa_user):
    _sign_in(client, mfa_user, mfa_user.recovery_codes[0])


def test_a_secret_planted_in_the_clear_does_not_work(mfa_user):
    """Writing a known secret into the database must not give its codes: it was not encrypted."""
    planted = generate_totp_secret()
    Authenticator.objects.filter(user=mfa_user.user, type=Authenticator.Type.TOTP).update(
        data={"secret": planted}
    )
    totp = TOTP(Authenticator.objects.get(user=mfa_user.user, type=Authenticator.Type.TOTP))

    with pytest.raises(ImproperlyConfigured, match="does not decrypt"):
        totp.validate_code(totp_code(planted))


def test_keys_rotate_new_first_then_the_old_one_goes(settings, client):
    old_key = settings.PORTAL_MFA_ENCRYPTION_KEYS[0]
    user = UserFactory()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user).generate_codes()
    mfa = MFAUser(user=user, secret=secret, password=DEFAULT_PASSWORD, recovery_codes=codes)
    new_key = Fernet.generate_key().decode()

    with override_settings(PORTAL_MFA_ENCRYPTION_KEYS=[new_key, old_key]):
        _sign_in(client, mfa, mfa.code())  # the old key still decrypts
        client.logout()
        call_command("rotate_mfa_keys", stdout=StringIO())
    with override_settings(PORTAL_MFA_ENCRYPTION_KEYS=[new_key]):
        _sign_in(client, mfa, codes[0])
    stored = json.loads(_stored_data(Authenticator.objects.get(user=user, type="totp")))
    assert Fernet(new_key.encode()).decrypt(stored["secret"].encode()).decode() == secret


@pytest.mark.django_db(transaction=True)  # SQLite migrates outside a transaction only
def test_migration_encrypts_secrets_stored_in_the_clear_before_it(client):
    user = UserFactory()
    secret = generate_totp_secret()
    call_command("migrate", "portal", "zero", verbosity=0)
    Authenticator.objects.create(user=user, type="totp", data={"secret": secret})
    Authenticator.objects.create(
        user=user, type="recovery_codes", data={"seed": "ab" * 40, "used_mask": 0}
    )

    # Every app: going back to "portal zero" also unapplied the migrations that depend on
    # portal's outbox, and the database must end the test whole.
    call_command("migrate", verbosity=0)

    totp = Authenticator.objects.get(user=user, type="totp")
    assert secret not in _stored_data(totp)
    assert "ab" * 40 not in _stored_data(
        Authenticator.objects.get(user=user, type="recovery_codes")
    )
    mfa = MFAUser(user=user, secret=secret, password=DEFAULT_PASSWORD, recovery_codes=[])
    _sign_in(client, mfa, mfa.code())


# --- the support admin ------------------------------------------------------------------------


def test_admin_lists_authenticators_without_their_data(client, mfa_staff_user, mfa_user):
    client.force_login(mfa_staff_user.user)
    totp = Authenticator.objects.get(user=mfa_user.user, type=Authenticator.Type.TOTP)
    stored_secret = json.loads(_stored_data(totp))["secret"]

    listing = client.get(reverse("admin:mfa_authenticator_changelist"))
    page = client.get(reverse("admin:mfa_authenticator_change", args=[totp.pk]))

    assert listing.status_code == 200
    assert escape(str(mfa_user.user)) in listing.content.decode()
    assert page.status_code == 200
    for response in (listing, page):
        content = response.content.decode()
        assert mfa_user.secret not in content
        assert stored_secret not in content
        assert '"secret"' not in content and "&quot;secret&quot;" not in content
    assert 'name="data"' not in page.content.decode()


def test_admin_refuses_adding_changing_and_deleting_authenticators(client, mfa_staff_user, user):
    client.force_login(mfa_staff_user.user)
    totp = Authenticator.objects.get(user=mfa_staff_user.user, type=Authenticator.Type.TOTP)
    planted = {"secret": generate_totp_secret()}

    added = client.post(
        reverse("admin:mfa_authenticator_add"),
        {"user": user.pk, "type": "totp", "data": json.dumps(planted)},
    )
    changed = client.post(
        reverse("admin:mfa_authenticator_change", args=[totp.pk]),
        {"user": user.pk, "type": "totp", "data": json.dumps(planted)},
    )
    deleted = client.post(
        reverse("admin:mfa_authenticator_delete", args=[totp.pk]), {"post": "yes"}
    )

    assert added.status_code == 403
    assert changed.status_code == 403
    assert deleted.status_code == 403
    assert not Authenticator.objects.filter(user=user).exists()
    totp.refresh_from_db()
    assert totp.user == mfa_staff_user.user
    assert totp.data["secret"] != planted["secret"]


# --- production configuration -----------------------------------------------------------------


def _check(**env: str):
    return _run(["manage.py", "check"], _clean_env(**env))


def test_production_without_an_encryption_key_refuses_to_start():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "PORTAL_MFA_ENCRYPTION_KEY"}

    result = _check(**env)

    assert result.returncode != 0
    assert "PORTAL_MFA_ENCRYPTION_KEY is required in production." in result.stderr


def test_a_malformed_encryption_key_refuses_to_start():
    result = _check(**{**PRODUCTION_ENV, "PORTAL_MFA_ENCRYPTION_KEY": "not-a-fernet-key"})

    assert result.returncode != 0
    assert "PORTAL_MFA_ENCRYPTION_KEY must hold Fernet keys" in result.stderr
