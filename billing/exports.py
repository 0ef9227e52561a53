"""An invoice or a statement as a PDF (WeasyPrint) and as CSV, in the reader's language."""

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _

from billing import selectors
from billing.models import Charge, Invoice, Statement
from portal.exports import csv_response, pdf_response
from portal.formatting import format_month

_TAXES = ("gst", "hst", "pst", "qst")


def _lines(charges: "list[Charge]") -> list[list[object]]:
    return [
        [
            charge.charged_at.date().isoformat(),
            charge.description_shown,
            charge.source_reference,
            charge.quantity,
            charge.amount,
            *(getattr(charge, tax) for tax in _TAXES),
            charge.total,
        ]
        for charge in charges
    ]


def _header() -> list[str]:
    return [
        _("Date"),
        _("Description"),
        _("Reference"),
        _("Shipments"),
        _("Amount before tax"),
        _("GST"),
        _("HST"),
        _("PST"),
        _("QST"),
        _("Total"),
    ]


# Past this many charges a PDF lists them by kind only (one line per kind, summed in the
# database) and points to the CSV for the detail: laying out a thousand rows takes WeasyPrint
# seconds and a reader pages of paper.
PDF_DETAIL_LIMIT = 50


def _document_context(document: Invoice | Statement) -> dict[str, object]:
    charges = document.charges.order_by("charged_at", "pk")
    count = charges.count()
    return {
        "document": document,
        "account": document.account,
        "summary": selectors.charges_by_kind(document.charges.all()),
        "charge_count": count,
        "charges": list(charges) if count <= PDF_DETAIL_LIMIT else None,
        "billing_phone": settings.PORTAL_CREDIT_MANAGEMENT_PHONE,
    }


def invoice_pdf(invoice: Invoice) -> HttpResponse:
    title = _("Invoice %(number)s") % {"number": invoice.number}
    context = {**_document_context(invoice), "invoice": invoice, "title": title}
    return pdf_response(f"invoice-{invoice.number}.pdf", "billing/pdf/invoice.html", context)


def invoice_csv(invoice: Invoice) -> HttpResponse:
    charges = list(invoice.charges.order_by("charged_at", "pk"))
    return csv_response(f"invoice-{invoice.number}.csv", _header(), _lines(charges))


def _statement_name(statement: Statement, extension: str) -> str:
    return (
        f"statement-{statement.account.customer_number}-{statement.period_start:%Y-%m}.{extension}"
    )


def statement_pdf(statement: Statement) -> HttpResponse:
    title = _("Statement of charges, %(month)s") % {"month": format_month(statement.period_start)}
    context = {**_document_context(statement), "statement": statement, "title": title}
    return pdf_response(_statement_name(statement, "pdf"), "billing/pdf/statement.html", context)


def statement_csv(statement: Statement) -> HttpResponse:
    charges = list(statement.charges.order_by("charged_at", "pk"))
    return csv_response(_statement_name(statement, "csv"), _header(), _lines(charges))
