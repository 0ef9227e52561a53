"""What a customer gets for a return: the 4-by-6-inch PDF label (online), or the counter code and
its QR code (post office), on the page and by e-mail.

Everything is drawn again from the label's row whenever it is asked for: nothing is stored but
the label. The barcode is Code 128 (python-barcode) of the S10 tracking number; the QR code
(segno) holds the tracking number and the counter code; the PDF is WeasyPrint's, with no
resource fetched but the data: URIs of those two pictures.
"""

import base64
import io
from email.mime.image import MIMEImage
from typing import TYPE_CHECKING, Any

import segno
from barcode import Code128
from barcode.writer import SVGWriter
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from portal.formatting import format_date
from portal.outbox import Undeliverable, absolute_url
from returns.models import Channel, ReturnLabel

if TYPE_CHECKING:
    from django.core.mail import EmailMultiAlternatives

    from portal.models import Delivery

PDF_TEMPLATE = "returns/pdf/label.html"
# Bars 0.4 mm wide print crisply on a 203 dpi thermal printer and on office printers alike;
# the quiet zone is the 10 modules Code 128 asks for.
BARCODE_OPTIONS = {
    "module_width": 0.4,
    "module_height": 18.0,
    "quiet_zone": 4.0,
    "write_text": False,  # the number is printed as text by the template, so it can be copied
}


# --- the pictures ------------------------------------------------------------------------------


def barcode_svg(tracking_number: str) -> bytes:
    """The Code 128 barcode of `tracking_number`, as an SVG document."""
    return bytes(Code128(tracking_number, writer=SVGWriter()).render(BARCODE_OPTIONS))


def barcode_data_uri(tracking_number: str) -> str:
    return _data_uri("image/svg+xml", barcode_svg(tracking_number))


def counter_payload(label: ReturnLabel) -> str:
    """What the post office's scanner reads in the QR code: "RR123456785CA K7MPX3RA"."""
    return f"{label.tracking_number} {label.counter_code}"


def qr_code(label: ReturnLabel) -> segno.QRCode:
    return segno.make(counter_payload(label), error="m", micro=False)


def qr_data_uri(label: ReturnLabel) -> str:
    """The QR code as an SVG data: URI (pages and the PDF; the CSP allows data: images)."""
    return str(qr_code(label).svg_data_uri(scale=6, border=4))


def qr_png(label: ReturnLabel) -> bytes:
    """The QR code as a PNG, for e-mail (mail programs do not show data: URIs)."""
    buffer = io.BytesIO()
    qr_code(label).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def _data_uri(media_type: str, content: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


# --- what pages, the PDF and the e-mail show ---------------------------------------------------


def label_context(label: ReturnLabel) -> dict[str, Any]:
    """The facts every view of a label shows, in the active language (dates in Eastern Time)."""
    policy = label.policy
    online = label.channel == Channel.ONLINE
    return {
        "label": label,
        "policy": policy,
        "merchant": label.account.legal_name,
        "online": online,
        "service": label.get_service_display(),
        "issued_on": format_date(timezone.localtime(label.issued_at).date()),
        "purchased_on": format_date(label.purchase_date) if label.purchase_date else "",
        "instructions": label.instructions,
        "pdf_filename": pdf_filename(label),
        "counter_code": label.counter_code,
        "qr_uri": "" if online else qr_data_uri(label),
        "qr_cid": f"qr-{label.tracking_number}",
    }


def pdf_filename(label: ReturnLabel) -> str:
    return f"return-label-{label.tracking_number}.pdf"


def render_label_pdf(label: ReturnLabel, *, language: str | None = None) -> bytes:
    """The 4-by-6-inch label, in `language` (the active one by default)."""
    from weasyprint import HTML  # imported here: loading Pango costs time at start-up
    from weasyprint.urls import URLFetcher

    with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
        context = {**label_context(label), "barcode_uri": barcode_data_uri(label.tracking_number)}
        html = render_to_string(PDF_TEMPLATE, context)
    # What customers typed is escaped by the template; still, the PDF may fetch nothing but
    # its own data: pictures (no file, no network).
    fetcher = URLFetcher(allowed_protocols={"data"})
    return bytes(HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf())


# --- the outbox kind returns.label -------------------------------------------------------------


def label_email_context(delivery: "Delivery") -> dict[str, Any]:
    """The customer's e-mail, drawn from the label of `facts["label"]`.

    Raises Undeliverable when the label no longer exists.
    """
    label = (
        ReturnLabel.objects.select_related("policy", "account")
        .filter(pk=delivery.facts.get("label", 0))
        .first()
    )
    if label is None:
        raise Undeliverable("The return label no longer exists.")
    token = label.policy.link_token
    return {
        **label_context(label),
        "done_url": absolute_url(
            reverse("returns:label_done", args=[token, label.tracking_number])
        ),
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
    }


def attach_label(
    delivery: "Delivery", message: "EmailMultiAlternatives", context: dict[str, Any]
) -> None:
    """Online: the PDF label attached; post office: the QR code, shown in the HTML part by its
    Content-ID and attached for the mail programs that show no pictures."""
    label: ReturnLabel = context["label"]
    if label.channel == Channel.ONLINE:
        message.attach(pdf_filename(label), render_label_pdf(label), "application/pdf")
        return
    image = MIMEImage(qr_png(label), "png")
    image.add_header("Content-ID", f"<{context['qr_cid']}>")
    image.add_header(
        "Content-Disposition", "inline", filename=f"return-code-{label.tracking_number}.png"
    )
    message.attach(image)
    # multipart/related: the HTML part and the picture it shows by its Content-ID.
    message.mixed_subtype = "related"  # type: ignore[attr-defined]
