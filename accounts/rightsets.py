"""A set of rights to give a user on one account, and the four profiles that preset one.

A `RightSet` maps a target (None for the whole account, or a contract id) to a level. It is what
the "Add a user" and "Change rights" flows build, what a validation request stores (as JSON) and
what the services write as grants. Normalised, a contract never holds a level its whole-account
grant already covers.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import AccountLink, Contract
from accounts.rights import AccountRights, Right

Target = int | None  # a contract id, or None for the whole account


class Profile(models.TextChoices):
    EXECUTIVE = "EXECUTIVE", _("Executive profile")
    ACCOUNTANT = "ACCOUNTANT", _("Accountant profile")
    PREPARER = "PREPARER", _("Preparer profile")
    VALIDATOR = "VALIDATOR", _("Validator profile")


PROFILE_LEVELS: dict[str, Right] = {
    Profile.EXECUTIVE: Right.VALIDATE,
    Profile.ACCOUNTANT: Right.CONSULT,
    Profile.PREPARER: Right.MANAGE,
    Profile.VALIDATOR: Right.VALIDATE,
}
# These two only pre-check the boxes; the administrator then unticks what they do not give.
EDITABLE_PROFILES = frozenset({Profile.PREPARER, Profile.VALIDATOR})

# A level in words, with what it includes: pages and e-mails say it this way. Its own context,
# because French names a level with nouns ("Consultation et gestion") and an action with a verb.
LEVEL_WORDS: dict[int, Promise] = {
    Right.CONSULT: pgettext_lazy("level in words", "Consult"),
    Right.MANAGE: _("Consult and manage"),
    Right.VALIDATE: _("Consult, manage and validate"),
}


@dataclass(frozen=True)
class RightRow:
    """One line of a rights summary, as pages and e-mails show it."""

    contract: Contract | None
    level: Right | None

    @property
    def label(self) -> str | Promise:
        return self.contract.number if self.contract else _("Whole account")

    @property
    def words(self) -> str | Promise:
        return LEVEL_WORDS[self.level] if self.level else _("No right")

    def includes(self, level: Right | int) -> bool:
        return self.level is not None and self.level >= level

    @property
    def consult(self) -> bool:
        return self.includes(Right.CONSULT)

    @property
    def manage(self) -> bool:
        return self.includes(Right.MANAGE)

    @property
    def validate(self) -> bool:
        return self.includes(Right.VALIDATE)


@dataclass(frozen=True)
class RightSet:
    levels: Mapping[Target, Right] = field(default_factory=dict)

    # --- making one ---------------------------------------------------------------------------

    @classmethod
    def from_profile(cls, profile: str, contracts: Iterable[Contract]) -> "RightSet":
        """Every target pre-checked at the profile's level, so unticking one contract works."""
        level = PROFILE_LEVELS[profile]
        return cls({None: level, **{contract.pk: level for contract in contracts}})

    @classmethod
    def of_link(cls, link: AccountLink) -> "RightSet":
        """The rights a link holds (use `.prefetch_related("grants")` on lists)."""
        return cls({grant.contract_id: Right(grant.level) for grant in link.grants.all()})

    @classmethod
    def of_holder(cls, held: AccountRights) -> "RightSet":
        levels: dict[Target, Right] = dict(held.contracts.items())
        if held.whole:
            levels[None] = held.whole
        return cls(levels)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> "RightSet":
        """The JSON form: {"account": 30, "contracts": {"12": 20}}."""
        levels: dict[Target, Right] = {}
        if payload.get("account"):
            levels[None] = Right(int(payload["account"]))
        for contract_id, level in (payload.get("contracts") or {}).items():
            levels[int(contract_id)] = Right(int(level))
        return cls(levels)

    def __or__(self, other: "RightSet") -> "RightSet":
        merged = dict(self.levels)
        for target, level in other.levels.items():
            merged[target] = max(level, merged.get(target, level))
        return RightSet(merged)

    # --- reading one --------------------------------------------------------------------------

    def to_payload(self, *, normalise: bool = True) -> dict[str, Any]:
        """JSON; `normalise=False` keeps covered contract levels (a preset's ticked boxes)."""
        normal = self.normalised().levels if normalise else self.levels
        return {
            "account": int(normal[None]) if None in normal else None,
            "contracts": {
                str(target): int(level) for target, level in sorted(_contracts(normal).items())
            },
        }

    def normalised(self) -> "RightSet":
        """Without the contract levels that the whole-account level already covers."""
        whole = self.levels.get(None)
        kept: dict[Target, Right] = {None: whole} if whole else {}
        for target, level in _contracts(self.levels).items():
            if whole is None or level > whole:
                kept[target] = level
        return RightSet(kept)

    def level_on(self, contract_id: Target = None) -> Right | None:
        levels = [self.levels.get(None), self.levels.get(contract_id) if contract_id else None]
        held = [level for level in levels if level is not None]
        return max(held) if held else None

    @property
    def is_empty(self) -> bool:
        return not self.levels

    @property
    def gives_validate(self) -> bool:
        return any(level >= Right.VALIDATE for level in self.levels.values())

    def contract_ids(self) -> set[int]:
        return set(_contracts(self.levels))

    def beyond(self, held: AccountRights) -> list[Target]:
        """The targets where this set gives more than `held` holds: nobody gives those."""
        return [
            target
            for target, level in self.normalised().levels.items()
            if (held.level_on(target) or 0) < level
        ]

    def capped_by(self, held: AccountRights) -> "RightSet":
        """What remains of a preset when it is limited to what `held` may give."""
        capped: dict[Target, Right] = {}
        for target, level in self.levels.items():
            mine = held.level_on(target)
            if mine is not None:
                capped[target] = min(level, mine)
        return RightSet(capped)

    def rows(self, contracts: Iterable[Contract]) -> list[RightRow]:
        """The whole account, then each contract with the level it really gets."""
        return [RightRow(None, self.levels.get(None))] + [
            RightRow(contract, self.level_on(contract.pk)) for contract in contracts
        ]

    def lines(self, contracts: Iterable[Contract]) -> list[RightRow]:
        """Only the granted lines: the whole account and the contracts above it."""
        by_id = {contract.pk: contract for contract in contracts}
        normal = self.normalised().levels
        lines = [RightRow(None, normal[None])] if None in normal else []
        return lines + [
            RightRow(by_id[target], level)
            for target, level in sorted(_contracts(normal).items())
            if target in by_id
        ]

    def facts(self, contracts: Iterable[Contract]) -> list[tuple[str | None, int]]:
        """The granted lines as plain JSON for an e-mail: (contract number or None, level)."""
        numbers = {contract.pk: contract.number for contract in contracts}
        return [
            (numbers.get(target) if target else None, int(level))
            for target, level in sorted(
                self.normalised().levels.items(), key=lambda item: (item[0] is not None, item[0])
            )
        ]


def fact_rows(facts: Iterable[tuple[str | None, int]]) -> list[dict[str, Any]]:
    """`RightSet.facts()` back into lines to show, in the language active when rendered."""
    return [
        {"label": number or _("Whole account"), "words": LEVEL_WORDS[Right(level)]}
        for number, level in facts
    ]


def _contracts(levels: Mapping[Target, Right]) -> dict[int, Right]:
    return {target: level for target, level in levels.items() if target is not None}
