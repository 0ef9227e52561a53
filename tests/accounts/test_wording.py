# ruff: noqa: RUF001, RUF002 - French typography uses the typographic apostrophe
"""What pages say, in both languages: French grammar and typography, and how people are named."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse

from accounts import services
from accounts.models import BusinessAccount, User
from accounts.rights import Right
from tests.accounts.delegation_factories import administrator
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
CATALOGUE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po"
WRONG_POSTAL = {"postal_code": "K1A 0B2"}
NBSP = "\u00a0"


def _french_strings() -> list[tuple[str, str]]:
    """(msgid, msgstr) for every translated string of the catalogue, plural forms included."""
    pairs = []
    for entry in polib.pofile(str(CATALOGUE)):
        strings = [entry.msgstr, *entry.msgstr_plural.values()]
        pairs += [(entry.msgid, string) for string in strings if string]
    return pairs


def _prose(text: str) -> str:
    """`text` without what is not prose: HTML tags (and their attributes) and placeholders."""
    text = re.sub(r"<[^>]*>", " ", text)
    return re.sub(r"%(\([^)]*\))?[-#0 +]*\d*(\.\d+)?[sdifr%]|\{[^}]*\}", " ", text)


def _unnamed(email: str) -> User:
    return UserFactory.create(
        email=email, username=email.split("@")[0], first_name="", last_name=""
    )


# --- French grammar and typography in the catalogue -----------------------------------------------


def test_the_prose_checker_sees_through_markup_and_placeholders() -> None:
    """The scans below must not pass because `_prose` swallowed the very thing they look for."""
    assert "'" not in _prose('<span class="a">%(name)s</span> {x} %d')
    assert "'" in _prose("<b>l'accès</b> %(name)s")
    assert ":" in _prose("<a href='x'>Droits</a> : %(what)s")


def test_no_french_translation_uses_a_straight_apostrophe() -> None:
    straight = [string for _, string in _french_strings() if "'" in _prose(string)]
    assert straight == []


def test_no_string_has_a_space_before_a_period() -> None:
    spaced = [
        string
        for pair in _french_strings()
        for string in pair
        if re.search(r"[^\s.] +\.(?!\.)", string)
    ]
    assert spaced == []


def test_french_colons_are_tied_to_the_word_before_them() -> None:
    """French typography: a non-breaking space before ":", so the colon never starts a line."""
    loose = [
        string
        for _, string in _french_strings()
        if re.search(rf"(?<!{NBSP}):(?!//)", _prose(string))
    ]
    assert loose == []


def test_french_never_says_a_le_or_de_le() -> None:
    contracted = [s for _, s in _french_strings() if re.search(r"\b(à|de) (le|les)\b", s)]
    assert contracted == []


# --- the group that investigates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, english, french",
    [
        (
            BusinessAccount.Kind.COMMERCIAL,
            "was sent to the credit management group",
            "a été transmis au Groupe de gestion du crédit",
        ),
        (
            BusinessAccount.Kind.SMALL_BUSINESS,
            "was sent to the small business group",
            "a été transmis au groupe du programme Solutions pour petites entreprises",
        ),
    ],
)
def test_a_report_names_the_group_it_was_sent_to(client, user, kind, english, french):
    link = AccountLinkFactory.create(user=user, account__kind=kind)
    client.force_login(user)
    url = reverse("accounts:report", args=[link.account_id])
    report = {"description": "Orders we never placed."}

    in_english = client.post(url, report, follow=True).content.decode()
    in_french = client.post(url, report, follow=True, HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert english in in_english
    assert french in in_french
    assert "à le " not in in_french


# --- the lock-out says when linking opens again ---------------------------------------------------


@pytest.mark.parametrize(
    "language, opens, never",
    [
        ("en", "You can try again after ", "until"),
        ("fr", "Vous pourrez réessayer à partir du ", "jusqu"),
    ],
)
def test_the_lock_out_says_from_when_one_can_try_again(
    client, linkable, user, small_limits, language, opens, never
):
    client.force_login(user)
    wrong = {**linkable.proofs, **WRONG_POSTAL}
    responses = [
        client.post(reverse("accounts:link"), wrong, HTTP_ACCEPT_LANGUAGE=language)
        for _ in range(small_limits["user"])
    ]

    page = responses[-1].content.decode()
    assert responses[-1].status_code == 429
    sentence = re.search(rf"{opens}[^<]*", page)
    assert sentence, page
    assert never not in sentence.group(0)
    assert "ET)" in sentence.group(0) or "HE)" in sentence.group(0)


# --- rights in words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "Whole account: Consult"),
        ("fr", f"Compte entier{NBSP}: Consultation"),
    ],
)
def test_the_users_list_says_each_right_as_a_phrase(client, language, expected):
    account = BusinessAccountFactory.create()
    ContractFactory.create(account=account)
    admin = administrator(account).user
    AccountLinkFactory.create(account=account, right=Right.CONSULT)
    client.force_login(admin)

    page = client.get(
        reverse("accounts:users", args=[account.pk]), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()

    flat = re.sub(r"<[^>]+>", "", page)
    assert expected in flat
    assert "Compte entier: " not in flat


# --- how a person is named ------------------------------------------------------------------------


def test_a_person_is_named_by_their_name_else_their_address() -> None:
    named = UserFactory.create(first_name="Céline", last_name="Roy", email="c@x.example")
    unnamed = _unnamed("celine@x.example")

    assert (named.display_name, str(named)) == ("Céline Roy", "Céline Roy")
    assert (unnamed.display_name, str(unnamed)) == ("celine@x.example", "celine@x.example")


@pytest.mark.parametrize(
    "language, message",
    [
        ("en", "Successfully signed in as celine@x.example."),
        ("fr", "Connexion avec celine@x.example réussie."),
    ],
)
def test_signing_in_names_a_profile_without_a_name_by_its_address(client, language, message):
    _unnamed("celine@x.example")

    response = client.post(
        reverse("account_login"),
        {"login": "celine@x.example", "password": DEFAULT_PASSWORD},
        follow=True,
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert message in response.content.decode()


def test_the_users_list_names_each_person_once(client):
    account = BusinessAccountFactory.create()
    admin = administrator(account).user
    AccountLinkFactory.create(account=account, user=_unnamed("nameless@x.example"))
    AccountLinkFactory.create(
        account=account,
        user=UserFactory.create(first_name="Ana", last_name="Lima", email="ana@x.example"),
    )
    client.force_login(admin)

    page = client.get(reverse("accounts:users", args=[account.pk])).content.decode()

    cell = re.search(
        r'<th scope="row">((?:(?!</th>).)*nameless@x\.example(?:(?!</th>).)*)</th>', page, re.S
    )
    assert cell and cell.group(1).count("nameless@x.example") == 1, cell
    assert "Ana Lima" in page and "ana@x.example" in page


def test_the_rights_pages_never_say_an_address_twice(client):
    account = BusinessAccountFactory.create()
    admin = administrator(account).user
    link = AccountLinkFactory.create(account=account, user=_unnamed("nameless@x.example"))
    client.force_login(admin)

    page = client.get(reverse("accounts:change_rights", args=[account.pk, link.pk]))

    text = re.sub(r"<[^>]+>", "", page.content.decode())
    assert "nameless@x.example (nameless@x.example)" not in text
    assert "Rights of nameless@x.example." in text


def test_french_pages_write_apostrophes_curly(client, user, close_feature):
    """Strings built in code (the maintenance "jusqu’au …") follow the catalogue's typography."""
    link = AccountLinkFactory.create(user=user, account__legal_name="Érable Inc.")
    close_feature("account_linking", "link_removal")
    client.force_login(user)

    pages = [
        client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        for url in (reverse("home"), reverse("accounts:detail", args=[link.account_id]))
    ]

    texts = [re.sub(r"<[^>]+>", " ", page) for page in pages]
    assert all("jusqu’au" in text for text in texts)
    assert [re.findall(r".{20}'.{20}", text) for text in texts] == [[], []]


def test_the_link_notice_names_a_profile_without_a_name_once(
    linkable, mailoutbox, django_capture_on_commit_callbacks
):
    user = _unnamed("celine@x.example")
    with django_capture_on_commit_callbacks(execute=True):
        services.link_account(user=user, ip="203.0.113.7", **linkable.proofs)

    for message in mailoutbox:
        html = message.alternatives[0][0]
        for text in (message.body, html):
            assert text.count("celine@x.example") == 1, text
