"""`manage.py import_tracking FILE.csv`: bad rows reported by line, good rows imported and
applied, safe to run again, with progress on large files."""

import datetime
import io
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from returns.management.commands import import_tracking
from returns.models import TrackingEvent
from tests.billing import fakes
from tests.outages.factories import closing
from tests.returns.factories import LabelFactory, PolicyFactory, tracking_number

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 10, 9, 12, 0, tzinfo=datetime.UTC)
HEADER = "tracking_number,event,occurred_at,place\n"


@pytest.fixture(autouse=True)
def _frozen() -> object:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def gateway(settings: object) -> type[fakes.FakeGateway]:
    return fakes.install(settings)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(path: Path, *args: str, stderr: io.StringIO | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the command, as the shell would see them."""
    out, err = io.StringIO(), stderr if stderr is not None else io.StringIO()
    try:
        call_command("import_tracking", str(path), *args, stdout=out, stderr=err)
    except CommandError as error:
        err.write(f"CommandError: {error}\n")
        return error.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def write(tmp_path: Path, text: str, *, bom: bool = False, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_a_clean_file_is_imported_applied_and_exits_0(tmp_path, gateway):
    label = LabelFactory()
    path = write(
        tmp_path,
        HEADER
        + f"{label.tracking_number},ACCEPTED,2026-10-05T10:30:00-04:00,Ottawa PO 12\n"
        + f"{label.tracking_number},IN_TRANSIT,2026-10-06T08:00:00Z,Montréal\n",
        bom=True,
    )
    code, out, err = run(path)
    assert (code, err) == (0, "")
    assert "2 events imported, 0 already there, 0 bad rows." in out
    assert "2 events applied." in out
    label.refresh_from_db()
    assert label.state == "IN_TRANSIT"
    assert label.accepted_at == datetime.datetime(2026, 10, 5, 14, 30, tzinfo=datetime.UTC)
    assert set(TrackingEvent.objects.values_list("place", flat=True)) == {
        "Ottawa PO 12",
        "Montréal",
    }
    assert len(gateway.charges) == 1


def test_bad_rows_are_reported_by_line_the_good_ones_imported_and_the_exit_code_is_1(
    tmp_path, gateway
):
    label = LabelFactory()
    number = label.tracking_number
    path = write(
        tmp_path,
        HEADER
        + f"{number},ACCEPTED,2026-10-05T14:30:00Z,Ottawa\n"  # line 2
        + f"{tracking_number(99_999_999)},ACCEPTED,2026-10-05T14:30:00Z,Ottawa\n"  # 3
        + f"{number},LOST,2026-10-05T15:30:00Z,Ottawa\n"  # 4
        + "\n"  # 5: blank, skipped
        + f"{number},IN_TRANSIT,2026-10-05 15:30,Ottawa\n"  # 6: no time zone
        + f"{number},IN_TRANSIT\n"  # 7: too few columns
        + f'{number},IN_TRANSIT,2026-10-06T08:00:00Z,"Sorting\ncentre"\n'  # 8-9: one row
        + "RR12345678CA,DELIVERED,2026-10-07T08:00:00Z,Ottawa\n",  # 10
    )
    code, out, err = run(path)
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("Line ")]
    assert [line.split(":")[0] for line in lines] == [
        "Line 3",
        "Line 4",
        "Line 6",
        "Line 7",
        "Line 10",
    ]
    assert "unknown_tracking_number" in lines[0] and "invalid_kind" in lines[1]
    assert "invalid_occurred_at" in lines[2] and "2 columns instead of 4" in lines[3]
    assert "invalid_tracking_number" in lines[4]
    assert "5 rows were not imported" in err
    assert "2 events imported, 0 already there, 5 bad rows." in out
    label.refresh_from_db()
    assert label.state == "IN_TRANSIT"
    assert TrackingEvent.objects.get(kind="IN_TRANSIT").place == "Sorting\ncentre"


def test_running_it_again_imports_nothing_twice(tmp_path, gateway):
    label = LabelFactory()
    path = write(
        tmp_path,
        HEADER
        + f"{label.tracking_number},ACCEPTED,2026-10-05T14:30:00Z,Ottawa\n"
        + f"{label.tracking_number},DELIVERED,2026-10-07T14:30:00Z,Toronto\n"
        + "RR00000000XCA,ACCEPTED,2026-10-05T14:30:00Z,Ottawa\n",
    )
    first = run(path)
    again = run(path)
    assert first[0] == again[0] == 1  # the bad row stays bad
    assert "2 events imported, 0 already there, 1 bad rows." in first[1]
    assert "0 events imported, 2 already there, 1 bad rows." in again[1]
    assert TrackingEvent.objects.count() == 2
    assert len(gateway.charges) == 1


def test_columns_may_come_in_any_order_and_place_may_be_left_out(tmp_path, gateway):
    label = LabelFactory()
    path = write(
        tmp_path,
        "Occurred_At , EVENT,tracking_number\n"
        + f"2026-10-05T14:30:00Z,ACCEPTED,{label.tracking_number}\n",
    )
    assert run(path)[0] == 0
    event = TrackingEvent.objects.get()
    assert (event.kind, event.place) == ("ACCEPTED", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("number,event,occurred_at\nRR000000015CA,ACCEPTED,2026-10-05T14:30:00Z\n", "header"),
    ],
)
def test_a_file_without_its_header_is_refused_whole(tmp_path, text, message):
    code, _out, err = run(write(tmp_path, text))
    assert code == 1 and message in err
    assert not TrackingEvent.objects.exists()


def test_a_missing_file_is_reported(tmp_path):
    code, _out, err = run(tmp_path / "nowhere.csv")
    assert code == 1 and "Cannot read" in err


def test_a_row_that_is_not_utf8_is_reported_and_the_others_imported(tmp_path, gateway):
    label = LabelFactory()
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        HEADER.encode()
        + f"{label.tracking_number},ACCEPTED,2026-10-05T14:30:00Z,".encode()
        + "Montréal\n".encode("latin-1")
        + f"{label.tracking_number},IN_TRANSIT,2026-10-06T14:30:00Z,Laval\n".encode()
    )
    code, _out, err = run(path)
    assert code == 1 and "Line 2: not UTF-8 text." in err
    assert list(TrackingEvent.objects.values_list("place", flat=True)) == ["Laval"]


def test_during_a_tracking_ingestion_window_it_stores_and_says_when_they_will_be_applied(
    tmp_path, gateway
):
    label = LabelFactory()
    closing("tracking_ingestion")
    path = write(tmp_path, HEADER + f"{label.tracking_number},ACCEPTED,2026-10-05T14:30:00Z,\n")
    code, out, _err = run(path)
    assert code == 0
    assert "1 events imported" in out and "closed for maintenance until" in out
    assert TrackingEvent.objects.get().applied_at is None
    label.refresh_from_db()
    assert label.state == "ISSUED" and gateway.charges == []


def _big_file(tmp_path: Path, rows: int) -> Path:
    labels = LabelFactory.create_batch(rows // 2, policy=PolicyFactory())
    start = datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC)
    lines = [HEADER]
    for n in range(rows):
        label = labels[n % len(labels)]
        kind = "ACCEPTED" if n < len(labels) else "IN_TRANSIT"
        moment = (start + datetime.timedelta(minutes=n)).isoformat()
        lines.append(f"{label.tracking_number},{kind},{moment},Ottawa\n")
    return write(tmp_path, "".join(lines))


def test_a_large_file_shows_progress_on_a_terminal_and_is_stored_in_batches(
    tmp_path, gateway, django_assert_max_num_queries
):
    path = _big_file(tmp_path, 1200)
    closing("tracking_ingestion")  # storing only: the batches are what is counted here
    terminal = Terminal()
    # Three batches of 500: a few queries each, not one per row.
    with django_assert_max_num_queries(40):
        code, _out, err = run(path, stderr=terminal)
    assert code == 0
    assert "\r[" in err and "100% 1,200 of 1,200 rows" in err
    assert TrackingEvent.objects.count() == 1200


def test_a_large_file_reports_progress_every_so_many_rows_when_not_on_a_terminal(
    tmp_path, gateway, monkeypatch
):
    monkeypatch.setattr(import_tracking, "PROGRESS_EVERY", 400)
    path = _big_file(tmp_path, 1000)
    closing("tracking_ingestion")  # storing only
    code, _out, err = run(path, "--batch-size", "300")
    assert code == 0
    assert err.splitlines() == ["400 of 1,000 rows read", "800 of 1,000 rows read"]
    assert TrackingEvent.objects.count() == 1000


def test_a_small_file_shows_no_progress(tmp_path, gateway):
    path = _big_file(tmp_path, 20)
    code, _out, err = run(path, stderr=Terminal())
    assert (code, err) == (0, "")
