"""The account page's sections: apps register them (portal.sections), the page shows each to
those who hold its right, disabled with the reason while its feature is closed, and the page's
query count does not grow with the sections."""

from collections.abc import Iterator

import pytest
from django.urls import reverse

from accounts.models import Grant
from accounts.rights import Right
from outages import gate
from outages.features import Feature
from outages.models import Interruption
from portal.sections import Section, register_section, registered_sections, unregister_section
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.outages.factories import closing

pytestmark = pytest.mark.django_db
ACCOUNTS_SECTIONS = ["accounts.users", "accounts.audit", "accounts.to_validate"]


@pytest.fixture
def account():
    return BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")


@pytest.fixture
def register() -> Iterator:
    """Register sections for one test, as another app's ready() would."""
    added: list[str] = []

    def add(**fields) -> Section:
        fields.setdefault("url_name", "accounts:report")
        fields.setdefault("right", Right.CONSULT)
        added.append(fields["key"])
        return register_section(Section(**fields))

    yield add
    for key in added:
        unregister_section(key)


def page(client, user, account):
    client.force_login(user)
    response = client.get(reverse("accounts:detail", args=[account.pk]))
    assert response.status_code == 200
    return response


def shown(response, *, apps: tuple[str, ...] = ("accounts.", "tests.")) -> list[str]:
    """The keys of the sections shown, of `apps` only (billing and returns have their test)."""
    return [
        item.section.key
        for item in response.context["sections"]
        if item.section.key.startswith(apps)
    ]


@pytest.fixture
def close(django_capture_on_commit_callbacks):
    """Close a feature as staff would: the gate hears of it on commit."""

    def close(feature, scope=Interruption.Scope.ALL):
        with django_capture_on_commit_callbacks(execute=True):
            closing(feature, scope=scope)

    return close


# --- the registry ---------------------------------------------------------------------------------


def test_accounts_registers_its_sections_in_page_order():
    keys = [section.key for section in registered_sections()]

    assert [key for key in keys if key.startswith("accounts.")] == ACCOUNTS_SECTIONS


def test_one_key_is_one_section(register):
    register(key="tests.billing", title="Billing", order=50)

    register_section(
        Section(
            key="tests.billing",
            title="Billing",
            url_name="accounts:report",
            right=Right.CONSULT,
            order=50,
        )
    )  # the same again: harmless
    with pytest.raises(ValueError, match="already registered"):
        register_section(
            Section(key="tests.billing", title="Other", url_name="accounts:report", right=10)
        )


# --- who sees what --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "level, administrator, expected",
    [
        (Right.VALIDATE, True, ACCOUNTS_SECTIONS),
        (Right.CONSULT, True, ["accounts.users", "accounts.audit"]),
        (Right.MANAGE, False, ["accounts.to_validate"]),
        (Right.CONSULT, False, []),
    ],
)
def test_each_section_shows_to_those_who_hold_its_right(
    client, account, level, administrator, expected
):
    link = AccountLinkFactory.create(account=account, right=level, is_administrator=administrator)

    response = page(client, link.user, account)

    assert shown(response) == expected
    text = response.content.decode()
    for name, key in (
        ("accounts:users", "accounts.users"),
        ("accounts:audit", "accounts.audit"),
        ("accounts:to_validate", "accounts.to_validate"),
    ):
        assert (f'href="{reverse(name, args=[account.pk])}"' in text) == (key in expected)
    # Billing and Returns show to anyone who may consult the whole account.
    assert 'id="account-sections"' in text


def test_billing_and_returns_show_their_sections_by_the_right_held(client, account):
    whole = AccountLinkFactory.create(account=account, right=Right.CONSULT)
    on_contract = AccountLinkFactory.create(account=account, right=0)
    Grant.objects.create(
        link=on_contract, contract=ContractFactory.create(account=account), level=Right.CONSULT
    )
    apps = ("billing.", "returns.")

    assert shown(page(client, whole.user, account), apps=apps) == [
        "returns.policies",
        "billing.overview",
    ]
    # Billing concerns the whole account; returns policies may be paid by one contract.
    assert shown(page(client, on_contract.user, account), apps=apps) == ["returns.policies"]


def test_another_app_appears_by_registering(client, account, register):
    register(key="tests.returns", title="Returns", right=Right.CONSULT, order=40)
    register(key="tests.billing", title="Billing", right=Right.VALIDATE, order=5)
    link = AccountLinkFactory.create(account=account, right=Right.CONSULT)

    response = page(client, link.user, account)

    assert shown(response) == ["tests.returns"]  # billing asks VALIDATE
    assert 'href="{}">Returns</a>'.format(reverse("accounts:report", args=[account.pk])) in (
        response.content.decode()
    )


def test_a_whole_account_section_is_not_shown_for_a_contract_grant(client, account, register):
    register(key="tests.billing", title="Billing", right=Right.CONSULT, whole_account=True)
    register(key="tests.returns", title="Returns", right=Right.CONSULT, order=40)
    link = AccountLinkFactory.create(account=account, right=0)
    Grant.objects.create(
        link=link, contract=ContractFactory.create(account=account), level=Right.CONSULT
    )

    assert shown(page(client, link.user, account)) == ["tests.returns"]

    whole = AccountLinkFactory.create(account=account, right=Right.CONSULT)
    assert shown(page(client, whole.user, account)) == ["tests.returns", "tests.billing"]


# --- a closed feature -----------------------------------------------------------------------------


def test_a_section_whose_feature_is_closed_shows_disabled_with_the_reason(client, account, close):
    link = AccountLinkFactory.create(account=account, right=Right.VALIDATE, is_administrator=True)
    close(Feature.DELEGATED_USERS)

    response = page(client, link.user, account)

    text = response.content.decode()
    assert shown(response) == ACCOUNTS_SECTIONS  # still listed...
    assert f'href="{reverse("accounts:users", args=[account.pk])}"' not in text  # ...not a link
    assert 'aria-disabled="true" aria-describedby="section-down-1">Users</span>' in text
    assert "Delegated users is unavailable" in text
    # The others stay open: the queue is gated per action, the audit trail not at all.
    assert f'href="{reverse("accounts:to_validate", args=[account.pk])}"' in text
    assert f'href="{reverse("accounts:audit", args=[account.pk])}"' in text


def test_a_section_stays_open_when_only_writing_is_interrupted(client, account, close):
    link = AccountLinkFactory.create(account=account, right=Right.VALIDATE, is_administrator=True)
    close(Feature.DELEGATED_USERS, scope=Interruption.Scope.WRITES)

    text = page(client, link.user, account).content.decode()

    assert f'href="{reverse("accounts:users", args=[account.pk])}"' in text
    assert "Delegated users is unavailable" not in text


# --- the page's queries ---------------------------------------------------------------------------

# The session and user, the account in scope, the rights summary, its contracts, and the
# investigation routing: none per section.
ACCOUNT_PAGE_QUERIES = 5


@pytest.mark.usefixtures("full_render")
def test_the_account_page_query_count_does_not_grow_with_sections(
    client, account, register, django_assert_num_queries
):
    link = AccountLinkFactory.create(account=account, right=Right.VALIDATE, is_administrator=True)
    ContractFactory.create_batch(2, account=account)
    client.force_login(link.user)
    url = reverse("accounts:detail", args=[account.pk])
    gate.snapshot()  # cached for every request; built once per process

    with django_assert_num_queries(ACCOUNT_PAGE_QUERIES):
        client.get(url)
    for n in range(8):
        register(key=f"tests.section{n}", title=f"Section {n}", feature=Feature.INVOICES)
    with django_assert_num_queries(ACCOUNT_PAGE_QUERIES):
        response = client.get(url)

    billing_and_returns = 2
    assert len(response.context["sections"]) == len(ACCOUNTS_SECTIONS) + billing_and_returns + 8
