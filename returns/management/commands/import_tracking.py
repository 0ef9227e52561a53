"""`manage.py import_tracking FILE.csv`: tracking events from a CSV file, then applied.

The file is UTF-8 (with or without a byte-order mark) with a header naming the columns
tracking_number, event, occurred_at and place (place may be left out; the columns in any order).
occurred_at is ISO 8601 with its time zone, e.g. 2026-10-05T14:30:00-04:00.

Each bad row is reported on stderr with its line number and the good rows are imported, in
batches; the exit code is 1 when some rows were bad, else 0. Running it again imports nothing
twice: events already stored are counted as duplicates. On a terminal a progress line shows how
far it is; otherwise a line every PROGRESS_EVERY rows.

Events are applied (labels, charges, report counts, notices) once stored, unless tracking
ingestion is closed for maintenance: then the beat job applies them when the window ends.
"""

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from outages import gate
from outages.features import Feature
from portal.formatting import format_moment
from returns.services.tracking import Result, apply_pending_events, record_tracking_events

REQUIRED = ("tracking_number", "event", "occurred_at")
COLUMNS = (*REQUIRED, "place")
BATCH_SIZE = 500
PROGRESS_EVERY = 10_000


class Command(BaseCommand):
    help = "Import tracking events from a CSV file (tracking_number, event, occurred_at, place)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file, UTF-8, with a header row")
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help="rows stored at a time"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        batch_size = max(1, options["batch_size"])
        self.show_progress = options["verbosity"] >= 1
        self.total = _count_rows(path)
        self.stored = self.duplicates = self.bad = self.read = 0
        batch: list[tuple[int, dict[str, str] | str]] = []
        for line, row in self._rows(path):
            self.read += 1
            batch.append((line, row))
            if len(batch) >= batch_size:
                self._store(batch)
                batch = []
            self._progress()
        if batch:
            self._store(batch)
        self._progress(done=True)
        self.stdout.write(
            f"{self.stored} events imported, {self.duplicates} already there, {self.bad} bad rows."
        )
        self._apply()
        if self.bad:
            raise CommandError(f"{self.bad} rows were not imported (see above).", returncode=1)

    def _rows(self, path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
        """(line number, event) per data row, or (line number, why) for a row not readable."""
        try:
            # surrogateescape: a row that is not UTF-8 is reported alone, the others still read.
            handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        with handle:
            reader = csv.reader(handle)
            try:
                header = next(reader)
            except StopIteration:
                raise CommandError(f"{path} is empty: it needs a header row.") from None
            names = [name.strip().lower() for name in header]
            missing = [name for name in REQUIRED if name not in names]
            if missing:
                raise CommandError(
                    f"Line 1: the header must name the columns {', '.join(COLUMNS)} "
                    f"({', '.join(missing)} missing)."
                )
            where = {name: names.index(name) for name in COLUMNS if name in names}
            line = reader.line_num + 1
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    yield line, f"not readable as CSV ({error})"
                    line = reader.line_num + 1
                    continue
                first, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in row):
                    continue  # a blank line
                if len(row) != len(names):
                    yield first, f"{len(row)} columns instead of {len(names)}"
                elif any(_undecodable(cell) for cell in row):
                    yield first, "not UTF-8 text"
                else:
                    yield (
                        first,
                        {
                            "tracking_number": row[where["tracking_number"]],
                            "kind": row[where["event"]],
                            "occurred_at": row[where["occurred_at"]],
                            "place": row[where["place"]] if "place" in where else "",
                        },
                    )

    def _bad(self, line: int, why: str) -> None:
        self.bad += 1
        self._clear_progress()
        self.stderr.write(f"Line {line}: {why}.")

    def _store(self, batch: list[tuple[int, dict[str, str] | str]]) -> None:
        """Store the batch's events; report its bad rows in the order of the file."""
        events = [row for _line, row in batch if isinstance(row, dict)]
        with transaction.atomic():
            stored = iter(record_tracking_events(events))
        for line, row in batch:
            if isinstance(row, str):
                self._bad(line, row)
                continue
            result = next(stored)
            if result.status == Result.OK:
                self.stored += 1
            elif result.status == Result.DUPLICATE:
                self.duplicates += 1
            else:
                self._bad(line, f"{result.message.rstrip('.')} ({result.code})")

    def _apply(self) -> None:
        closure = gate.closure_for(Feature.TRACKING_INGESTION)
        if closure is not None:
            self.stdout.write(
                "Tracking ingestion is closed for maintenance until "
                f"{format_moment(closure.until)}: the events will be applied when it reopens."
            )
            return
        self.stdout.write(f"{apply_pending_events()} events applied.")

    # --- progress -------------------------------------------------------------------------

    def _progress(self, *, done: bool = False) -> None:
        if not self.show_progress or self.total < PROGRESS_EVERY // 10:
            return  # a small file is done before anyone would look
        if self.stderr.isatty():
            if done or self.read % 100 == 0:
                share = min(100, 100 * self.read // max(1, self.total))
                bar = "#" * (share // 4)
                self.stderr.write(
                    f"\r[{bar:<25}] {share:3d}% {self.read:,} of {self.total:,} rows",
                    ending="\n" if done else "",
                )
                self.stderr.flush()
        elif self.read % PROGRESS_EVERY == 0 and not done:
            self.stderr.write(f"{self.read:,} of {self.total:,} rows read")

    def _clear_progress(self) -> None:
        if self.show_progress and self.stderr.isatty():
            self.stderr.write("\r\033[K", ending="")


def _count_rows(path: Path) -> int:
    """Lines after the header (a quoted field over several lines counts more: an estimate)."""
    try:
        with path.open("rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0
    return max(0, lines - 1)


def _undecodable(cell: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in cell)
