"""Eastern Time in words, both languages, across both DST changes."""

import datetime

import pytest
from django.utils import timezone, translation

from portal.formatting import EASTERN, format_moment, format_span, format_until, to_eastern

UTC = datetime.UTC
YEAR = timezone.now().year  # the current year is written without its year


def eastern(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=EASTERN)


@pytest.mark.parametrize(
    ("utc", "local", "offset_hours"),
    [
        # 2026-03-08, 2 a.m. EST jumps to 3 a.m. EDT (07:00 UTC)
        (datetime.datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC), (1, 59, 59), -5),
        (datetime.datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC), (3, 0, 0), -4),
        # 2026-11-01, 2 a.m. EDT falls back to 1 a.m. EST (06:00 UTC); 1:30 happens twice
        (datetime.datetime(2026, 11, 1, 5, 30, tzinfo=UTC), (1, 30, 0), -4),
        (datetime.datetime(2026, 11, 1, 6, 30, tzinfo=UTC), (1, 30, 0), -5),
    ],
)
def test_utc_to_eastern_across_both_dst_changes(utc, local, offset_hours):
    converted = to_eastern(utc)

    assert (converted.hour, converted.minute, converted.second) == local
    assert converted.utcoffset() == datetime.timedelta(hours=offset_hours)


def test_eastern_to_utc_on_either_side_of_each_change():
    assert eastern(2026, 3, 7, 20, 0).astimezone(UTC).hour == 1  # EST: +5 h
    assert eastern(2026, 3, 8, 20, 0).astimezone(UTC).hour == 0  # EDT: +4 h
    assert eastern(2026, 10, 31, 20, 0).astimezone(UTC).hour == 0  # EDT
    assert eastern(2026, 11, 1, 20, 0).astimezone(UTC).hour == 1  # EST


def test_a_span_crossing_the_november_change_reads_in_wall_clock_time():
    starts = datetime.datetime(YEAR, 10, 31, 23, 0, tzinfo=UTC)  # 7 p.m. EDT
    ends = datetime.datetime(YEAR, 11, 1, 12, 0, tzinfo=UTC)  # 7 a.m. EST

    assert format_span(starts, ends) == "October 31, 7 p.m. to November 1, 7 a.m. (ET)"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "Du 25 juin, 23 h 59 au 2 juillet, 7 h (HE)"),
        ("en", "June 25, 11:59 p.m. to July 2, 7 a.m. (ET)"),
    ],
)
def test_the_table_duration_as_the_source_page_writes_it(language, expected):
    with translation.override(language):
        text = format_span(eastern(YEAR, 6, 25, 23, 59), eastern(YEAR, 7, 2, 7, 0))

    assert text == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "Du 25 juin, 20 h au 2 juillet, 7 h (HE)"),
        ("en", "June 25, 8 p.m. to July 2, 7 a.m. (ET)"),
    ],
)
def test_the_design_example(language, expected):
    with translation.override(language):
        assert format_span(eastern(YEAR, 6, 25, 20), eastern(YEAR, 7, 2, 7)) == expected


@pytest.mark.parametrize(
    ("moment", "english", "french"),
    [
        (eastern(YEAR, 6, 22, 0, 0), "June 22, midnight (ET)", "22 juin, minuit (HE)"),
        (eastern(YEAR, 6, 22, 12, 0), "June 22, noon (ET)", "22 juin, midi (HE)"),
        (eastern(YEAR, 7, 1, 18, 5), "July 1, 6:05 p.m. (ET)", "1er juillet, 18 h 05 (HE)"),
    ],
)
def test_moments_carry_their_zone(moment, english, french):
    with translation.override("en"):
        assert format_moment(moment) == english
    with translation.override("fr"):
        assert format_moment(moment) == french


def test_until_in_both_languages():
    moment = eastern(YEAR, 7, 2, 7)
    with translation.override("en"):
        assert format_until(moment) == "until July 2 at 7 a.m. ET"
    with translation.override("fr"):
        assert format_until(moment) == "jusqu’au 2 juillet, 7 h (HE)"  # noqa: RUF001


def test_another_year_is_written_out():
    with translation.override("en"):
        assert format_moment(eastern(YEAR + 1, 7, 2, 7)) == f"July 2, {YEAR + 1}, 7 a.m. (ET)"
    with translation.override("fr"):
        assert format_moment(eastern(YEAR + 1, 7, 2, 7)) == f"2 juillet {YEAR + 1}, 7 h (HE)"


def test_inline_span_starts_lower_case_in_french():
    with translation.override("fr"):
        text = format_span(eastern(YEAR, 6, 25, 20), eastern(YEAR, 7, 2, 7), inline=True)
    assert text.startswith("du 25 juin")


def test_a_known_year_is_not_repeated():
    starts, ends = eastern(YEAR + 1, 6, 25, 20), eastern(YEAR + 1, 7, 2, 7)
    with translation.override("fr"):
        assert format_span(starts, ends, known_year=YEAR + 1) == (
            "Du 25 juin, 20 h au 2 juillet, 7 h (HE)"
        )
