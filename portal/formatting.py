"""Times as the source pages write them, always in Eastern Time and always with the zone.

French: "du 25 juin, 23 h 59 au 2 juillet, 7 h (HE)"; English: "June 25, 11:59 p.m. to July 2,
7 a.m. (ET)". The database keeps UTC; only these functions turn it into words.
"""

import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import get_language

EASTERN = ZoneInfo("America/Toronto")

_MONTHS_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
_MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def to_eastern(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(EASTERN)


def _french() -> bool:
    return (get_language() or "en").startswith("fr")


def _time(moment: datetime.datetime, french: bool) -> str:
    if french:
        if moment.minute == 0 and moment.hour in (0, 12):
            return "minuit" if moment.hour == 0 else "midi"
        return f"{moment.hour} h" + (f" {moment.minute:02d}" if moment.minute else "")
    if moment.hour == 12 and moment.minute == 0:
        return "noon"
    if moment.hour == 0 and moment.minute == 0:
        return "midnight"
    hour = moment.hour % 12 or 12
    suffix = "a.m." if moment.hour < 12 else "p.m."
    return f"{hour}:{moment.minute:02d} {suffix}" if moment.minute else f"{hour} {suffix}"


def _date(moment: datetime.datetime, french: bool, with_year: bool) -> str:
    if french:
        day = "1er" if moment.day == 1 else str(moment.day)
        text = f"{day} {_MONTHS_FR[moment.month - 1]}"
    else:
        text = f"{_MONTHS_EN[moment.month - 1]} {moment.day}"
    if with_year:
        text += f" {moment.year}" if french else f", {moment.year}"
    return text


def zone_label() -> str:
    return "HE" if _french() else "ET"


def _shows_year(local: datetime.datetime, known_year: int | None) -> bool:
    """The year is written only when the reader cannot guess it (the current one by default)."""
    return local.year != (known_year or to_eastern(timezone.now()).year)


def format_moment(
    moment: datetime.datetime, *, with_zone: bool = True, known_year: int | None = None
) -> str:
    """ "July 2, 7 a.m. (ET)" / "2 juillet, 7 h (HE)"."""
    local, french = to_eastern(moment), _french()
    text = f"{_date(local, french, _shows_year(local, known_year))}, {_time(local, french)}"
    return f"{text} ({zone_label()})" if with_zone else text


def format_span(
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    *,
    inline: bool = False,
    known_year: int | None = None,
) -> str:
    """ "June 25, 8 p.m. to July 2, 7 a.m. (ET)" / "Du 25 juin, 20 h au 2 juillet, 7 h (HE)".

    `inline=True` for the middle of a sentence: "du 25 juin, …" in French. `known_year` is a
    year the reader already has (a table under a dated heading), so it is not repeated.
    """
    start, end = (
        format_moment(moment, with_zone=False, known_year=known_year)
        for moment in (starts_at, ends_at)
    )
    if _french():
        return f"{'du' if inline else 'Du'} {start} au {end} ({zone_label()})"
    return f"{start} to {end} ({zone_label()})"


def format_until(moment: datetime.datetime) -> str:
    """ "until July 2 at 7 a.m. ET" / "jusqu’au 2 juillet, 7 h (HE)"."""  # noqa: RUF002
    local, french = to_eastern(moment), _french()
    with_year = _shows_year(local, None)
    if french:
        # The typographic apostrophe, as in the French catalogue.
        return f"jusqu’au {_date(local, True, with_year)}, {_time(local, True)} (HE)"  # noqa: RUF001
    return f"until {_date(local, False, with_year)} at {_time(local, False)} ET"


def format_date(day: datetime.date) -> str:
    """ "March 5, 2026" / "5 mars 2026": a calendar day (due dates, expiry), with its year."""
    return _date(day, _french(), with_year=True)  # type: ignore[arg-type]


def format_month(first: datetime.date) -> str:
    """ "March 2026" / "mars 2026"."""
    names = _MONTHS_FR if _french() else _MONTHS_EN
    return f"{names[first.month - 1]} {first.year}"
