"""The gateway's secret key never leaves the settings: after cards are saved through the card
page, charged, refused, used to pay an invoice and removed (through localstripe, e-mails sent),
the key is nowhere in the database, the logs, the e-mails, the texts or the pages."""

import io
import logging
import re
import secrets
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import BusinessAccount, Contact, User
from accounts.rights import Right
from billing import services
from billing.exceptions import CardNotAccepted
from billing.models import Charge, Invoice, Payment, PaymentMethod
from portal.models import Delivery
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.conftest import CHARGE_DECLINED_CARD, GOOD_CARD, browser_setup
from tests.billing.factories import BillingProfileFactory, InvoiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reauth_bypass")]


@pytest.fixture
def secret(settings: Any, stripe_api: str) -> str:
    """A secret key no other string in the portal could contain by chance."""
    settings.STRIPE_SECRET_KEY = f"sk_test_{secrets.token_hex(16)}"
    return str(settings.STRIPE_SECRET_KEY)


def save_card_through_the_page(
    client: Client, account: BusinessAccount, base: str, number: str, pages: list[str]
) -> PaymentMethod:
    page = client.get(reverse("billing:add_card", args=[account.pk])).content.decode()
    pages.append(page)
    found = re.search(r'data-client-secret="(seti_\w+?)_secret_', page)
    assert found, "no card setup on the page"
    browser_setup(base, found.group(1), number)
    response = client.post(
        reverse("billing:add_card", args=[account.pk]), {"setup_id": found.group(1)}
    )
    assert response.status_code == 302
    return PaymentMethod.objects.filter(account=account).latest("pk")


def sent_mail_text() -> str:
    """Everything of every e-mail sent: headers, subject, both bodies, attachments."""
    parts: list[str] = []
    for message in mail.outbox:
        parts += [str(message.subject), str(message.body), str(message.from_email), *message.to]
        parts += [f"{name}: {value}" for name, value in message.extra_headers.items()]
        parts += [str(content) for content, _type in getattr(message, "alternatives", [])]
        parts += [repr(attachment) for attachment in message.attachments]
        parts.append(message.message().as_string())
    return "\n".join(parts)


def test_the_gateway_secret_is_nowhere_after_saving_charging_paying_and_removing_cards(
    client, secret, stripe_api, caplog, sms_outbox, django_capture_on_commit_callbacks
):
    small = BusinessAccountFactory.create(kind=BusinessAccount.Kind.SMALL_BUSINESS)
    ContactFactory.create(account=small, role=Contact.Role.PRIMARY, email="owner@grenier.example")
    commercial = BusinessAccountFactory.create()
    ContractFactory.create(account=commercial)
    BillingProfileFactory.create(account=commercial, terms_days=30)
    ContactFactory.create(
        account=commercial, role=Contact.Role.BILLING, email="ap@boreal.example", language="fr"
    )
    invoice = InvoiceFactory.create(account=commercial, total=Decimal("113.00"))
    user: User = AccountLinkFactory.create(account=small, right=Right.VALIDATE).user
    AccountLinkFactory.create(account=commercial, right=Right.VALIDATE, user=user)
    client.force_login(user)
    pages: list[str] = []
    caplog.clear()

    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        card = save_card_through_the_page(client, small, stripe_api, GOOD_CARD, pages)
        paid = services.charge_for(
            account=small, description="Return label", amount=Decimal("10.00"), source="label:1"
        )
        refused = save_card_through_the_page(client, small, stripe_api, CHARGE_DECLINED_CARD, pages)
        with pytest.raises(CardNotAccepted):
            services.charge_for(
                account=small,
                description="Return label",
                amount=Decimal("10.00"),
                source="label:2",
                method_id=refused.pk,
            )
        payer = save_card_through_the_page(client, commercial, stripe_api, GOOD_CARD, pages)
        pay = reverse("billing:pay", args=[commercial.pk, invoice.pk])
        pages.append(client.get(pay).content.decode())
        client.post(pay, {"method": str(payer.pk), "key": str(uuid.uuid4())})
        client.post(reverse("billing:remove_method", args=[small.pk, card.pk]))

    # All of it happened, through the gateway, and told people by e-mail.
    paid.refresh_from_db()
    assert paid.status == Charge.Status.PAID and paid.gateway_payment_id.startswith("pi_")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.get().gateway_payment_id.startswith("pi_")
    card.refresh_from_db()
    assert card.status == PaymentMethod.Status.REMOVED
    sent = Delivery.objects.filter(status=Delivery.Status.SENT)
    assert {"billing.invoice_paid", "billing.method_removed"} <= set(
        sent.values_list("kind", flat=True)
    )
    assert len(mail.outbox) == sent.filter(channel=Delivery.Channel.EMAIL).count() >= 2
    assert f"/v1/payment_methods/{payer.gateway_id}/attach" in caplog.text  # calls logged

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    logged = caplog.text + "\n".join(repr(vars(record)) for record in caplog.records)
    deliveries = repr(list(Delivery.objects.values()))
    texts = repr([vars(text) for text in sms_outbox])
    places = {
        "database": dump.getvalue(),
        "logs": logged,
        "e-mails": sent_mail_text(),
        "deliveries": deliveries,
        "texts": texts,
        "pages": "\n".join(pages),
    }
    random_part = secret.removeprefix("sk_test_")
    for place, text in places.items():
        assert secret not in text, f"the gateway secret is in the {place}"
        assert random_part not in text, f"part of the gateway secret is in the {place}"
    assert payer.gateway_id in places["database"]  # the scan reads what it should
    assert "ap@boreal.example" in places["e-mails"]
