"""Notification settings ("Paramètres des avis"): at most four recipients per account, each with
its language, events and mode; the service and the page, both sides of every right, the gate,
and the limit holding when two additions race on PostgreSQL."""

import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import AuditEvent, BusinessAccount, Grant, Right, User
from outages.gate import FeatureClosed
from returns.exceptions import NotAllowed, RecipientExists, TooManyRecipients
from returns.models import NotificationRecipient
from returns.services import recipients as service
from returns.services.recipients import RecipientNotFound, RecipientSettings
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.conftest import postgres_in_use, require_service
from tests.outages.factories import closing
from tests.returns.factories import RecipientFactory

pytestmark = pytest.mark.django_db

EVERYTHING = RecipientSettings(
    language="en", on_accepted=True, on_exception=True, on_delivered=True, mode="EACH"
)


def manager(account: BusinessAccount, right: Right = Right.MANAGE) -> User:
    return AccountLinkFactory.create(account=account, right=right).user


def add(actor: User, account: BusinessAccount, email: str, **changes: Any) -> Any:
    settings = RecipientSettings(**{**EVERYTHING.__dict__, **changes})
    return service.add_recipient(
        actor=actor, account=account, email=email, settings=settings, ip="192.0.2.1"
    )


def page(account: BusinessAccount) -> str:
    return reverse("returns:notifications", args=[account.pk])


def add_form(email: str, **fields: Any) -> dict[str, Any]:
    data = {
        "action": "add",
        "add-email": email,
        "add-language": "fr",
        "add-events": ["ACCEPTED", "DELIVERED"],
        "add-mode": "DAILY",
    }
    data.update({f"add-{name}": value for name, value in fields.items()})
    return data


# --- the service ---------------------------------------------------------------------------------


def test_a_manager_adds_a_recipient_with_its_language_events_and_mode_and_it_is_audited():
    account = BusinessAccountFactory.create()
    actor = manager(account)

    recipient = add(
        actor, account, " Claire@Boutique.EXAMPLE ", language="fr", on_exception=False, mode="DAILY"
    )

    recipient.refresh_from_db()
    assert recipient.email == "Claire@boutique.example"  # the domain in lower case
    assert (recipient.language, recipient.mode) == ("fr", "DAILY")
    assert (recipient.on_accepted, recipient.on_exception, recipient.on_delivered) == (
        True,
        False,
        True,
    )
    event = AuditEvent.objects.get(event=AuditEvent.Event.RETURN_RECIPIENTS_CHANGED)
    assert (event.actor, event.account) == (actor, account)
    assert event.details["change"] == "added"
    assert event.details["events"] == "ACCEPTED,DELIVERED"


@pytest.mark.parametrize("right", [Right.CONSULT, None])
def test_consult_or_no_right_cannot_add_update_or_remove(right):
    account = BusinessAccountFactory.create()
    actor = manager(account, right) if right else manager(BusinessAccountFactory.create())
    existing = RecipientFactory.create(account=account)

    with pytest.raises(NotAllowed):
        add(actor, account, "new@boutique.example")
    with pytest.raises(NotAllowed):
        service.update_recipient(
            actor=actor, account=account, recipient_id=existing.pk, settings=EVERYTHING, ip=None
        )
    with pytest.raises(NotAllowed):
        service.remove_recipient(actor=actor, account=account, recipient_id=existing.pk, ip=None)
    assert list(NotificationRecipient.objects.values_list("email", flat=True)) == [existing.email]


def test_manage_on_one_contract_only_is_not_enough():
    """The recipients concern the whole account."""
    account = BusinessAccountFactory.create()
    link = AccountLinkFactory.create(account=account, right=0)
    contract = ContractFactory.create(account=account)
    Grant.objects.create(link=link, contract=contract, level=Right.VALIDATE)

    with pytest.raises(NotAllowed):
        add(link.user, account, "new@boutique.example")


def test_a_fifth_recipient_is_refused_with_a_clear_message():
    account = BusinessAccountFactory.create()
    actor = manager(account)
    for n in range(4):
        add(actor, account, f"r{n}@boutique.example")

    with pytest.raises(TooManyRecipients) as refused:
        add(actor, account, "fifth@boutique.example")

    assert "at most four" in str(refused.value)
    assert NotificationRecipient.objects.filter(account=account).count() == 4


def test_the_limit_is_per_account():
    first, second = BusinessAccountFactory.create(), BusinessAccountFactory.create()
    RecipientFactory.create_batch(4, account=first)

    add(manager(second), second, "someone@boutique.example")

    assert NotificationRecipient.objects.filter(account=second).count() == 1


def test_the_same_address_twice_is_refused_whatever_its_case():
    account = BusinessAccountFactory.create()
    actor = manager(account)
    add(actor, account, "claire@boutique.example")

    with pytest.raises(RecipientExists):
        add(actor, account, "CLAIRE@Boutique.example")
    assert NotificationRecipient.objects.filter(account=account).count() == 1


def test_an_address_that_unsubscribed_is_subscribed_again_in_its_own_place():
    account = BusinessAccountFactory.create()
    gone = RecipientFactory.create(account=account, email="gone@boutique.example")
    RecipientFactory.create_batch(3, account=account)
    NotificationRecipient.objects.filter(pk=gone.pk).update(unsubscribed_at="2026-01-01T00:00Z")

    again = add(manager(account), account, "gone@boutique.example", mode="DAILY")

    assert again.pk == gone.pk
    again.refresh_from_db()
    assert again.unsubscribed_at is None and again.mode == "DAILY"
    assert NotificationRecipient.objects.filter(account=account).count() == 4
    change = AuditEvent.objects.get(event=AuditEvent.Event.RETURN_RECIPIENTS_CHANGED)
    assert change.details["change"] == "subscribed again"


def test_update_changes_the_settings_but_not_the_address_nor_an_unsubscription():
    account = BusinessAccountFactory.create()
    recipient = RecipientFactory.create(account=account, unsubscribed_at="2026-01-01T00:00Z")
    settings = RecipientSettings(
        language="fr", on_accepted=False, on_exception=True, on_delivered=False, mode="DAILY"
    )

    service.update_recipient(
        actor=manager(account),
        account=account,
        recipient_id=recipient.pk,
        settings=settings,
        ip=None,
    )

    recipient.refresh_from_db()
    assert (recipient.language, recipient.mode, recipient.on_exception) == ("fr", "DAILY", True)
    assert (recipient.on_accepted, recipient.on_delivered) == (False, False)
    assert recipient.unsubscribed_at is not None


def test_another_business_recipient_is_not_found():
    mine, theirs = BusinessAccountFactory.create(), BusinessAccountFactory.create()
    actor = manager(mine)
    foreign = RecipientFactory.create(account=theirs)

    with pytest.raises(RecipientNotFound):
        service.update_recipient(
            actor=actor, account=mine, recipient_id=foreign.pk, settings=EVERYTHING, ip=None
        )
    with pytest.raises(RecipientNotFound):
        service.remove_recipient(actor=actor, account=mine, recipient_id=foreign.pk, ip=None)
    assert NotificationRecipient.objects.filter(pk=foreign.pk).exists()


def test_removing_frees_a_place():
    account = BusinessAccountFactory.create()
    actor = manager(account)
    first, *_rest = RecipientFactory.create_batch(4, account=account)

    service.remove_recipient(actor=actor, account=account, recipient_id=first.pk, ip=None)
    add(actor, account, "fifth@boutique.example")

    assert NotificationRecipient.objects.filter(account=account).count() == 4
    assert not NotificationRecipient.objects.filter(pk=first.pk).exists()


def test_changes_wait_while_return_policies_are_closed_for_maintenance():
    account = BusinessAccountFactory.create()
    actor = manager(account)
    recipient = RecipientFactory.create(account=account)
    closing("return_policies")

    with pytest.raises(FeatureClosed):
        add(actor, account, "new@boutique.example")
    with pytest.raises(FeatureClosed):
        service.remove_recipient(actor=actor, account=account, recipient_id=recipient.pk, ip=None)
    assert NotificationRecipient.objects.count() == 1


# --- the page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("right", [Right.CONSULT, Right.MANAGE])
def test_the_page_lists_the_recipients_and_only_a_manager_gets_the_form(client, right):
    account = BusinessAccountFactory.create()
    recipient = RecipientFactory.create(
        account=account, email="claire@boutique.example", mode="DAILY"
    )
    client.force_login(manager(account, right))

    response = client.get(page(account))

    assert response.status_code == 200
    content = response.content.decode()
    assert "claire@boutique.example" in content and "A daily summary" in content
    remove = reverse("returns:remove_recipient", args=[account.pk, recipient.pk])
    assert ("Add the recipient" in content) is (right == Right.MANAGE)
    assert (remove in content) is (right == Right.MANAGE)


def test_another_business_page_is_a_404_and_a_visitor_signs_in_first(client):
    mine, theirs = BusinessAccountFactory.create(), BusinessAccountFactory.create()

    assert client.get(page(mine)).status_code == 302
    client.force_login(manager(mine))
    assert client.get(page(theirs)).status_code == 404
    assert client.post(page(theirs), add_form("x@boutique.example")).status_code == 404
    assert not NotificationRecipient.objects.exists()


def test_a_manager_adds_a_recipient_from_the_page(client):
    account = BusinessAccountFactory.create()
    client.force_login(manager(account))

    response = client.post(page(account), add_form("claire@boutique.example"))

    assert response.status_code == 302 and response["Location"] == page(account)
    recipient = NotificationRecipient.objects.get(account=account)
    assert (recipient.email, recipient.language, recipient.mode) == (
        "claire@boutique.example",
        "fr",
        "DAILY",
    )
    assert (recipient.on_accepted, recipient.on_exception, recipient.on_delivered) == (
        True,
        False,
        True,
    )


def test_a_consult_user_cannot_post_the_form(client):
    account = BusinessAccountFactory.create()
    client.force_login(manager(account, Right.CONSULT))

    assert client.post(page(account), add_form("x@boutique.example")).status_code == 404
    assert not NotificationRecipient.objects.exists()


def test_the_page_refuses_a_fifth_recipient_and_then_offers_no_form(client):
    account = BusinessAccountFactory.create()
    RecipientFactory.create_batch(4, account=account)
    client.force_login(manager(account))

    response = client.post(page(account), add_form("fifth@boutique.example"))

    assert response.status_code == 400
    assert "An account can have at most four notification recipients" in response.content.decode()
    assert NotificationRecipient.objects.filter(account=account).count() == 4
    content = client.get(page(account)).content.decode()
    assert "the most it can have" in content
    assert 'name="add-email"' not in content


def test_the_page_explains_a_duplicate_and_a_form_without_events(client):
    account = BusinessAccountFactory.create()
    RecipientFactory.create(account=account, email="claire@boutique.example")
    client.force_login(manager(account))

    duplicate = client.post(page(account), add_form("claire@boutique.example"))
    no_event = client.post(page(account), add_form("owen@boutique.example", events=[]))

    assert duplicate.status_code == 400
    assert "This address already receives the notifications." in duplicate.content.decode()
    assert no_event.status_code == 400
    assert "Choose at least one event." in no_event.content.decode()
    assert NotificationRecipient.objects.count() == 1


def test_a_manager_changes_a_recipient_from_the_page(client):
    account = BusinessAccountFactory.create()
    recipient = RecipientFactory.create(account=account)
    client.force_login(manager(account))
    prefix = f"recipient-{recipient.pk}"

    response = client.post(
        page(account),
        {
            "action": "update",
            "recipient": recipient.pk,
            f"{prefix}-language": "fr",
            f"{prefix}-events": ["EXCEPTION"],
            f"{prefix}-mode": "DAILY",
        },
    )

    assert response.status_code == 302
    recipient.refresh_from_db()
    assert (recipient.language, recipient.mode) == ("fr", "DAILY")
    assert (recipient.on_accepted, recipient.on_exception, recipient.on_delivered) == (
        False,
        True,
        False,
    )


def test_changing_another_business_recipient_from_the_page_is_a_404(client):
    account = BusinessAccountFactory.create()
    foreign = RecipientFactory.create(language="en")
    client.force_login(manager(account))
    prefix = f"recipient-{foreign.pk}"

    response = client.post(
        page(account),
        {
            "action": "update",
            "recipient": foreign.pk,
            f"{prefix}-language": "fr",
            f"{prefix}-events": ["EXCEPTION"],
            f"{prefix}-mode": "DAILY",
        },
    )

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.language == "en"


def test_removing_asks_to_confirm_then_removes(client):
    account = BusinessAccountFactory.create()
    recipient = RecipientFactory.create(account=account, email="claire@boutique.example")
    client.force_login(manager(account))
    url = reverse("returns:remove_recipient", args=[account.pk, recipient.pk])

    confirm = client.get(url)
    assert confirm.status_code == 200 and "claire@boutique.example" in confirm.content.decode()
    assert NotificationRecipient.objects.filter(pk=recipient.pk).exists()

    response = client.post(url)

    assert response.status_code == 302 and response["Location"] == page(account)
    assert not NotificationRecipient.objects.filter(pk=recipient.pk).exists()


def test_removing_needs_manage_and_the_account_own_recipient(client):
    account = BusinessAccountFactory.create()
    mine = RecipientFactory.create(account=account)
    foreign = RecipientFactory.create()
    client.force_login(manager(account, Right.CONSULT))
    assert (
        client.post(reverse("returns:remove_recipient", args=[account.pk, mine.pk])).status_code
        == 404
    )

    client.force_login(manager(account))
    foreign_url = reverse("returns:remove_recipient", args=[account.pk, foreign.pk])
    assert client.get(foreign_url).status_code == 404
    assert client.post(foreign_url).status_code == 404
    assert NotificationRecipient.objects.count() == 2


def test_during_maintenance_the_page_reads_and_its_buttons_say_why_they_are_off(client):
    account = BusinessAccountFactory.create()
    recipient = RecipientFactory.create(account=account)
    client.force_login(manager(account))
    closing("return_policies", scope="writes")

    response = client.get(page(account))

    assert response.status_code == 200
    content = response.content.decode()
    assert "unavailable for maintenance" in content
    assert 'disabled aria-describedby="recipients-down"' in content
    assert 'name="add-email"' not in content
    assert client.post(page(account), add_form("x@boutique.example")).status_code == 503
    remove = reverse("returns:remove_recipient", args=[account.pk, recipient.pk])
    assert client.post(remove).status_code == 503
    assert NotificationRecipient.objects.count() == 1


@pytest.mark.parametrize("how_many", [1, 4])
def test_the_page_queries_stay_the_same_however_many_recipients(
    client, how_many, django_assert_num_queries
):
    account = BusinessAccountFactory.create()
    RecipientFactory.create_batch(how_many, account=account)
    client.force_login(manager(account))
    client.get(page(account))  # warm the session and the gate

    # session, user, account (with the rights scope), recipients, the template's rights summary
    with django_assert_num_queries(5):
        response = client.get(page(account))

    assert response.content.decode().count('name="action" value="update"') == how_many


# --- the race ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_additions_at_once_cannot_make_a_fifth_recipient(monkeypatch):
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    account = BusinessAccountFactory.create()
    actor = manager(account)
    RecipientFactory.create_batch(3, account=account)
    # Hold each transaction open after counting, so without the lock both would count three.
    real_apply = service._apply

    def slow_apply(*args: Any) -> None:
        time.sleep(0.3)
        real_apply(*args)

    monkeypatch.setattr(service, "_apply", slow_apply)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(email: str) -> None:
        try:
            start.wait()
            add(actor, account, email)
            outcomes.append("added")
        except TooManyRecipients:
            outcomes.append("too many")
        finally:
            connection.close()  # each thread has its own connection

    threads = [
        threading.Thread(target=submit, args=(f"racer{n}@boutique.example",)) for n in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == ["added", "too many"]
    assert NotificationRecipient.objects.filter(account=account).count() == 4
