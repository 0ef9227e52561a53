"""Downloads every app offers: CSV safe to open in a spreadsheet, and PDFs from templates.

A cell that starts with = + - @ (or a tab or carriage return) would run as a formula in Excel
or LibreOffice: such text is prefixed with an apostrophe, which spreadsheets show as text.
Numbers are written as numbers, so a negative amount stays a number.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.template.loader import render_to_string

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` as a spreadsheet will read it as data, never as a formula."""
    if isinstance(value, int | float | Decimal) or value is None:
        return "" if value is None else value
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_response(
    filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A UTF-8 CSV download (with a byte-order mark, so Excel reads accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(str(cell)) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def pdf_response(
    filename: str, template: str, context: dict[str, Any], *, inline: bool = False
) -> HttpResponse:
    """A PDF drawn by WeasyPrint from an HTML template (its own CSS, no network)."""
    from weasyprint import HTML  # imported here: loading Pango costs time at start-up

    html = render_to_string(template, context)
    pdf = HTML(string=html, base_url=None).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response
