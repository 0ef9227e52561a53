"""Factories for business accounts and what hangs off them."""

import datetime

import factory

from accounts.models import BusinessAccount, Contact, Contract
from tests.factories import ModelFactory


class BusinessAccountFactory(ModelFactory[BusinessAccount]):
    class Meta:
        model = BusinessAccount

    customer_number = factory.Sequence(lambda n: f"{1_000_000_000 + n:010d}")
    kind = BusinessAccount.Kind.COMMERCIAL
    legal_name = factory.Sequence(lambda n: f"Northern Parcel Co. {n}")
    street_address = "2701 Riverside Drive"
    city = "Ottawa"
    province = "ON"
    postal_code = "K1A 0B1"


class ContractFactory(ModelFactory[Contract]):
    class Meta:
        model = Contract

    account = factory.SubFactory(BusinessAccountFactory)
    number = factory.Sequence(lambda n: f"{4_000_000_000 + n:010d}")
    kind = Contract.Kind.PARCEL_SERVICES
    status = Contract.Status.ACTIVE
    starts_on = datetime.date(2024, 1, 1)


class ContactFactory(ModelFactory[Contact]):
    class Meta:
        model = Contact

    account = factory.SubFactory(BusinessAccountFactory)
    role = Contact.Role.PRIMARY
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@business.example")
    language = "en"
