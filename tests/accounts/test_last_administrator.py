"""An account always keeps an administrator holding VALIDATE on the whole of it — whoever removes,
leaves, unmarks or changes rights — and an administrator who leaves confirms it with a fresh
second factor, told first what their leaving leaves behind."""

import pytest
from django.urls import reverse

from accounts import removal_links, rights, services
from accounts.exceptions import LastAdministrator
from accounts.models import AccountLink
from accounts.rights import Right
from accounts.rightsets import RightSet
from tests.accounts.delegation_factories import administrator, with_totp
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory, LinkNoticeFactory

pytestmark = pytest.mark.django_db
C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE
IP = "198.51.100.8"


@pytest.fixture
def account():
    return BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")


def active(link: AccountLink) -> bool:
    link.refresh_from_db()
    return link.status == AccountLink.Status.ACTIVE


def test_cutting_the_other_administrator_down_then_leaving_is_refused(account):
    first, second = administrator(account), administrator(account)

    # Allowed: the first administrator still validates on the whole account.
    services.change_rights(
        actor=first.user, account=account, link_id=second.pk, chosen=RightSet({None: C}), ip=IP
    )
    with pytest.raises(LastAdministrator):
        services.remove_own_link(user=first.user, account=account, ip=IP)

    assert active(first) and active(second)


def test_the_only_validator_cannot_leave_while_a_managing_administrator_remains(account):
    validator = administrator(account)
    administrator(account, level=M)

    with pytest.raises(LastAdministrator):
        services.remove_own_link(user=validator.user, account=account, ip=IP)

    assert active(validator)


def test_staff_cannot_remove_or_unmark_the_only_validating_administrator(account, staff_user):
    validator = administrator(account)
    administrator(account, level=M)
    contract = ContractFactory.create(account=account)
    on_contract = administrator(account, level=C)
    on_contract.grants.create(contract=contract, level=V)  # validates one contract only

    with pytest.raises(LastAdministrator):
        services.remove_links_by_staff(actor=staff_user, link_ids=[validator.pk], ip=IP)
    with pytest.raises(LastAdministrator):
        services.unmark_administrators(actor=staff_user, link_ids=[validator.pk], ip=IP)

    validator.refresh_from_db()
    assert active(validator) and validator.is_administrator


def test_staff_removing_both_validating_administrators_at_once_is_refused(account, staff_user):
    first, second = administrator(account), administrator(account)

    with pytest.raises(LastAdministrator):
        services.remove_links_by_staff(actor=staff_user, link_ids=[first.pk, second.pk], ip=IP)

    assert active(first) and active(second)  # nothing removed


def test_with_another_validating_administrator_one_may_leave(account):
    first = administrator(account)
    administrator(account)

    services.remove_own_link(user=first.user, account=account, ip=IP)

    assert not active(first)


def test_administrators_who_cannot_validate_and_other_users_may_leave(account):
    administrator(account)
    managing = administrator(account, level=M)
    plain = AccountLinkFactory.create(account=account, right=V)

    services.remove_own_link(user=managing.user, account=account, ip=IP)
    services.remove_own_link(user=plain.user, account=account, ip=IP)

    assert not active(managing) and not active(plain)


def test_a_user_may_leave_an_account_that_has_no_validating_administrator(account):
    administrator(account, level=M)  # already without anyone who validates
    plain = AccountLinkFactory.create(account=account, right=C)

    services.remove_own_link(user=plain.user, account=account, ip=IP)

    assert not active(plain)


def test_the_contacts_removal_link_still_removes_the_last_administrator(account):
    only = administrator(account)
    notice = LinkNoticeFactory.create(link=only)

    services.remove_link_with_token(token=removal_links.make_token(notice), ip=IP)

    assert not active(only)


# --- "Remove my access": what it leaves behind, and a fresh second factor ------------------------


def leave(account):
    return reverse("accounts:leave", args=[account.pk])


def test_an_administrator_is_told_how_many_validating_administrators_there_are(client, account):
    mfa = with_totp(administrator(account).user)
    administrator(account)
    administrator(account)
    client.force_login(mfa.user)

    page = client.get(leave(account)).content.decode()

    assert "You are one of 3 administrators who can validate on the whole account." in page
    assert "two-factor authentication code" in page
    assert 'action="' + leave(account) + '"' in page


def test_the_last_validating_administrator_is_told_they_cannot_leave(client, account):
    mfa = with_totp(administrator(account).user)
    administrator(account, level=M)
    client.force_login(mfa.user)

    page = client.get(leave(account)).content.decode()

    assert "You are the only administrator of this account who can validate" in page
    assert 'action="' + leave(account) + '"' not in page  # no button to press


def test_an_administrator_who_does_not_validate_is_told_who_remains(client, account):
    mfa = with_totp(administrator(account, level=M).user)
    administrator(account)
    client.force_login(mfa.user)

    page = client.get(leave(account)).content.decode()

    assert "1 administrator who can validate on the whole account remains" in page


def test_an_administrator_leaves_only_after_a_fresh_second_factor(client, account):
    mfa = with_totp(administrator(account).user)
    administrator(account)
    client.force_login(mfa.user)

    first = client.post(leave(account))

    assert first["Location"].startswith(reverse("mfa_reauthenticate"))
    assert rights.is_administrator(mfa.user, account)  # nothing removed yet
    done = client.post(first["Location"], {"code": mfa.code()})
    assert done.status_code == 302
    assert not rights.accounts_for(mfa.user).exists()


def test_an_administrator_without_two_factor_is_sent_to_set_it_up(client, account):
    link = administrator(account)
    administrator(account)
    client.force_login(link.user)

    response = client.post(leave(account))

    assert response["Location"] == reverse("mfa_index")
    assert active(link)


def test_the_last_validating_administrator_is_refused_even_after_the_second_factor(client, account):
    mfa = with_totp(administrator(account).user)
    client.force_login(mfa.user)
    client.post(reverse("mfa_reauthenticate"), {"code": mfa.code()})

    response = client.post(leave(account), follow=True)

    assert "who can validate on the whole account" in response.content.decode()
    assert rights.is_administrator(mfa.user, account)


def test_a_user_who_is_not_an_administrator_leaves_without_a_second_factor(client, account):
    administrator(account)
    plain = AccountLinkFactory.create(account=account, right=M)
    client.force_login(plain.user)

    assert "administrators" not in client.get(leave(account)).content.decode()
    response = client.post(leave(account))

    assert response["Location"] == reverse("home")
    assert not active(plain)
