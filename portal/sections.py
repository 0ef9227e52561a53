"""The sections of an account's page that apps register: Users, Audit trail, To validate from
accounts; Returns and Billing later, each from its own AppConfig.ready():

    from portal.sections import Section, register_section

    register_section(Section(
        key="returns.policies",
        title=_("Return policies"),
        url_name="returns:policy_list",   # reversed with the account's id
        right=Right.CONSULT,              # at least this level...
        whole_account=False,              # ...on the whole account (True) or anywhere on it
        feature=Feature.RETURN_POLICIES,  # closed: shown disabled with the reason
        order=40,
    ))

This module only keeps the registry: portal imports no app, so which sections a user sees on
an account is answered by accounts.sections.sections_for (from the per-request rights summary
and the gate, with no query per section).
"""

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Section:
    key: str  # namespaced like the app's URL names: "accounts.users"
    title: str | Promise  # lazy, so the page shows it in the reader's language
    url_name: str  # takes the account's id as its one argument
    right: int  # the level (accounts.models.Right) the page itself asks
    feature: str | None = None  # the gate feature the page belongs to; None: always open
    order: int = 100  # lower first
    whole_account: bool = False  # the right on the whole account, not just a contract of it
    administration: bool = False  # only the account's administrators (Users, Audit trail)


_registry: dict[str, Section] = {}


def register_section(section: Section) -> Section:
    """Add `section`; another section under the same key is a programming error."""
    existing = _registry.get(section.key)
    if existing is not None and existing != section:
        raise ValueError(f"An account-page section named {section.key!r} is already registered.")
    _registry[section.key] = section
    return section


def unregister_section(key: str) -> None:
    """For tests that register a section of their own."""
    _registry.pop(key, None)


def registered_sections() -> list[Section]:
    """Every registered section, in page order."""
    return sorted(_registry.values(), key=lambda section: (section.order, section.key))
