"""Business-account data rules: Canadian postal codes and 10-digit customer numbers."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import BusinessAccount
from portal.postal import normalise_postal_code, validate_postal_code
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory

POSTAL_CODE_MESSAGE = "Enter a postal code in the format XXX XXX."


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("k1a0b1", "K1A 0B1"),
        ("K1A 0B1", "K1A 0B1"),
        (" k1a 0b1 ", "K1A 0B1"),
        ("h4z1a1", "H4Z 1A1"),
    ],
)
def test_postal_code_is_normalised(typed, stored):
    assert normalise_postal_code(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["12345", "K1A 0B", "K1A 0B12", "D1A 0B1", "W1A 0B1", "K1A 0O1", "KKA 0B1", "", "ABC DEF"],
)
def test_postal_code_that_is_not_canadian_is_refused_with_a_clear_message(typed):
    with pytest.raises(ValidationError) as refused:
        normalise_postal_code(typed)

    assert refused.value.messages in ([POSTAL_CODE_MESSAGE], ["This field is required."])


def test_model_validator_accepts_only_the_normalised_form():
    validate_postal_code("K1A 0B1")
    with pytest.raises(ValidationError) as refused:
        validate_postal_code("k1a0b1")
    assert refused.value.messages == [POSTAL_CODE_MESSAGE]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "customer_number, valid",
    [
        ("0001234567", True),
        ("123456789", False),
        ("12345678901", False),
        ("00012345a7", False),
        ("0001 23456", False),
    ],
)
def test_customer_number_has_exactly_ten_digits(customer_number, valid):
    account = BusinessAccountFactory.build(customer_number=customer_number)

    if valid:
        account.full_clean()
        return
    with pytest.raises(ValidationError) as refused:
        account.full_clean()
    assert refused.value.message_dict["customer_number"][-1] in (
        "A customer number has exactly 10 digits.",
        # Django's own length check speaks first for 11 characters.
        "Ensure this value has at most 10 characters (it has 11).",
    )


@pytest.mark.django_db
def test_customer_number_is_unique():
    BusinessAccountFactory(customer_number="0001234567")

    with pytest.raises(ValidationError) as refused:
        BusinessAccountFactory.build(customer_number="0001234567").full_clean()

    assert "customer_number" in refused.value.message_dict


@pytest.mark.django_db
def test_factories_make_valid_rows():
    contract = ContractFactory()
    contact = ContactFactory(account=contract.account)

    contract.account.full_clean()
    contract.full_clean()
    contact.full_clean()
    assert contract.account.contracts.get() == contract
    assert contract.account.contacts.get() == contact


def _admin_add_form(**overrides: str) -> dict[str, Any]:
    data = {
        "customer_number": "0009876543",
        "kind": BusinessAccount.Kind.SMALL_BUSINESS,
        "legal_name": "Rideau Candles",
        "street_address": "111 Wellington Street",
        "city": "Ottawa",
        "province": "ON",
        "postal_code": "k1a0b1",
    }
    for prefix in ("contracts", "contacts"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_admin_add_form_stores_the_normalised_postal_code(client, mfa_staff_user):
    client.force_login(mfa_staff_user.user)

    response = client.post(reverse("admin:accounts_businessaccount_add"), _admin_add_form())

    assert response.status_code == 302, response.content.decode()
    account = BusinessAccount.objects.get(customer_number="0009876543")
    assert account.postal_code == "K1A 0B1"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("postal_code", "12345", POSTAL_CODE_MESSAGE),
        ("customer_number", "12345", "A customer number has exactly 10 digits."),
    ],
)
def test_admin_add_form_refuses_bad_input_and_saves_nothing(
    client, mfa_staff_user, field, value, message
):
    client.force_login(mfa_staff_user.user)

    response = client.post(
        reverse("admin:accounts_businessaccount_add"), _admin_add_form(**{field: value})
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert message in response.content.decode()
    assert not BusinessAccount.objects.exists()
