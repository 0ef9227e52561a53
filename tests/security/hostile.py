"""Hypothesis strategies for bad input: what a careless program or an attacker sends.

Every strategy here draws from the same pool: markup and template fragments, SQL fragments,
look-alike digits (superscript, full-width, Arabic-Indic), direction overrides and marks,
combining and zero-width characters, control characters with NUL, huge numbers and very long
text, plus random text. `MARKUP` lists the fragments whose raw copy must never reach an HTML
page: `assert_escaped` checks a response against what was sent.

Lone surrogates are left out: they cannot be encoded in a UTF-8 request, so no client sends them
(the test client would fail before the portal sees anything).
"""

import string
from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import strategies as st

MARKUP = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "</textarea><script>alert(2)</script>",
    "'><iframe src=javascript:alert(3)>",
)
TEMPLATE = ("{{ 7|add:7 }}", "{% debug %}", "${7*7}", "%(name)s", "%s%s%s%n", "{0}")
SQL = (
    "' OR 1=1 --",
    "'; DROP TABLE accounts_businessaccount; --",
    '" OR ""="',
    "1; SELECT pg_sleep(5)",
    "' UNION SELECT password FROM auth_user --",
    "\\'; --",
)
DIGITS_LOOK_ALIKE = (
    "¹²³⁴⁵⁶⁷⁸⁹⁰",  # superscript: not \d, but str.isdigit() says yes
    "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10",  # full-width: \d matches
    "٠١٢٣٤٥٦٧٨٩",  # Arabic-Indic: \d matches them
    "①②③④⑤⑥⑦⑧⑨⑩",
    "Ⅻ",
)
DIRECTION = ("\u200f", "\u202e", "\u202d", "\u2066", "\u200e", "abc\u202eexe.pdf")
INVISIBLE = ("e\u0301\u0301\u0301", "\u200b", "\ufeff", "\u00ad", "Z\u0336\u0337\u0338")
CONTROL = ("\x00", "a\x00b", "\x01\x02\x1b[31m", "\x7f", "\r\n", "\x0b\x0c", "\x85")
HUGE = (
    "9" * 40,
    "-1",
    "0",
    "1e308",
    "NaN",
    "-9223372036854775809",
    "18446744073709551616",
    "A" * 5_000,
)
PATHS = ("../../etc/passwd", "%00", "%2e%2e%2f", "\\\\server\\share", "file:///etc/passwd")

FRAGMENTS = (
    *MARKUP,
    *TEMPLATE,
    *SQL,
    *DIGITS_LOOK_ALIKE,
    *DIRECTION,
    *INVISIBLE,
    *CONTROL,
    *HUGE,
    *PATHS,
)

_encodable = st.characters(exclude_categories=["Cs"])


def fragment() -> st.SearchStrategy[str]:
    return st.sampled_from(FRAGMENTS)


def hostile_text(*, max_parts: int = 4) -> st.SearchStrategy[str]:
    """A few fragments and bits of random text, glued together."""
    part = st.one_of(fragment(), fragment(), st.text(_encodable, max_size=20))
    return st.lists(part, min_size=1, max_size=max_parts).map("".join)


def markup_text() -> st.SearchStrategy[str]:
    """Text that surely holds one of the MARKUP fragments (to check the page escapes it)."""
    return st.tuples(hostile_text(max_parts=2), st.sampled_from(MARKUP)).map("".join)


def path_segment() -> st.SearchStrategy[str]:
    """Hostile text for one segment of a URL (a token, a number): no "/", never empty."""
    return hostile_text().map(lambda text: text.replace("/", "")).filter(bool)


def not_a_number() -> st.SearchStrategy[str]:
    """What a number field gets instead of a number (look-alike digits, huge or negative ones)."""
    return st.one_of(
        st.sampled_from((*DIGITS_LOOK_ALIKE, *HUGE, *SQL, *MARKUP, "", " ", "1.5", "0x10")),
        hostile_text(max_parts=2),
    )


def huge_integer() -> st.SearchStrategy[int]:
    """Ids out of every column's range (beyond 64 bits, or negative)."""
    return st.one_of(st.integers(min_value=2**63), st.integers(max_value=-1))


def bad_email() -> st.SearchStrategy[str]:
    """Text that is no e-mail address Django accepts (each holds a character none may hold)."""
    local = hostile_text(max_parts=2)
    return st.one_of(
        local,
        st.tuples(local, st.just("@"), st.sampled_from(("example.com", "", "a..b", "[::1]"))).map(
            "".join
        ),
        st.tuples(st.sampled_from(MARKUP), st.just("@example.com")).map("".join),
        st.just("a" * 250 + "@example.com"),
    ).filter(_invalid_email)


def _invalid_email(value: str) -> bool:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(value.strip())
    except ValidationError:
        return True
    return False


def json_value(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any JSON value: wrong types where a program expects a string or an object."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text(max_parts=2),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(("events", "kind", "x", "")), inner, max_size=3),
        ),
        max_leaves=max_leaves,
    )


def form_data(
    fields: Mapping[str, st.SearchStrategy[Any]],
) -> st.SearchStrategy[dict[str, Any]]:
    """A POST body: each field gets its strategy's value, sometimes a list of two (a field sent
    twice), sometimes nothing; and maybe an unknown field."""

    def one(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(strategy, strategy, st.lists(strategy, min_size=2, max_size=2))

    known = st.fixed_dictionaries({}, optional={name: one(value) for name, value in fields.items()})
    extra = st.dictionaries(
        st.text(string.ascii_lowercase, min_size=1, max_size=8), hostile_text(), max_size=1
    )
    return st.tuples(known, extra).map(lambda pair: {**pair[1], **pair[0]})


def values_of(data: Any) -> Iterable[str]:
    """Every string in a posted body (nested lists and dicts too)."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from values_of(key)
            yield from values_of(value)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from values_of(value)


def assert_escaped(body: str, sent: Any) -> None:
    """No MARKUP fragment that was sent comes back raw in an HTML body."""
    for value in values_of(sent):
        for fragment_ in MARKUP:
            if fragment_ in value:
                assert fragment_ not in body, f"unescaped {fragment_!r} in the page"
