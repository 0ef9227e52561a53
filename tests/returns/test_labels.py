"""Issuing a label through a direct link (the service), the PDF label read back, its barcode
and the post-office QR code decoded, and the customer's e-mail."""

import datetime
import io
import subprocess
from pathlib import Path
from typing import Any

import pypdf
import pytest
import time_machine
import zxingcpp
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from PIL import Image

from billing.models import Charge
from outages.gate import FeatureClosed
from portal.models import Delivery
from portal.tasks import send_delivery
from returns import labels
from returns.exceptions import LabelsUnavailable, PurchaseDateRequired, ReturnWindowPassed
from returns.messages import Kind
from returns.models import Channel, ReturnLabel, ReturnPolicy, ShippingService
from returns.services import labels as service
from returns.services.labels import COUNTER_CODE_ALPHABET, LabelRequest, issue_label
from returns.tracking_numbers import is_valid
from tests.callbacks import other_than_fragments
from tests.outages.factories import closing
from tests.returns.factories import LabelFactory, PolicyFactory, tracking_number

pytestmark = pytest.mark.django_db
EASTERN_NOON = datetime.datetime(2026, 10, 15, 16, 0, tzinfo=datetime.UTC)


def ask(**changes: Any) -> LabelRequest:
    fields: dict[str, Any] = {
        "customer_name": "Amélie Tremblay",
        "customer_email": "amelie@shopper.example",
        "order_reference": "ORD-2026-0042",
        "from_street": "55 rue Saint-Jean",
        "from_city": "Québec",
        "from_province": "QC",
        "from_postal_code": "G1R 1N9",
        "purchase_date": datetime.date(2026, 10, 1),
        "channel": None,
    }
    return LabelRequest(**{**fields, **changes})


def issue(policy: ReturnPolicy, language: str = "en", **changes: Any) -> ReturnLabel:
    return issue_label(
        policy_token=policy.link_token, data=ask(**changes), ip="203.0.113.9", language=language
    )


# --- issuing -----------------------------------------------------------------------------------


@time_machine.travel(EASTERN_NOON, tick=False)
def test_an_online_label_is_issued_with_a_valid_s10_number_and_the_customers_details():
    policy = PolicyFactory(channel=Channel.ONLINE, service=ShippingService.XPRESSPOST)

    label = issue(policy)

    label.refresh_from_db()
    assert is_valid(label.tracking_number) and label.tracking_number.startswith("RR")
    assert (label.policy, label.account) == (policy, policy.account)
    assert (label.channel, label.service, label.counter_code) == (
        Channel.ONLINE,
        ShippingService.XPRESSPOST,
        "",
    )
    assert (label.customer_name, label.customer_email, label.order_reference) == (
        "Amélie Tremblay",
        "amelie@shopper.example",
        "ORD-2026-0042",
    )
    assert (label.from_street, label.from_city, label.from_province, label.from_postal_code) == (
        "55 rue Saint-Jean",
        "Québec",
        "QC",
        "G1R 1N9",
    )
    assert label.purchase_date == datetime.date(2026, 10, 1)
    assert label.state == ReturnLabel.State.ISSUED
    assert label.issued_at == timezone.now()


@time_machine.travel(EASTERN_NOON, tick=False)
def test_a_post_office_label_gets_an_eight_character_code_without_look_alike_characters():
    policy = PolicyFactory(channel=Channel.POST_OFFICE)

    codes = [issue(policy).counter_code for _ in range(20)]

    assert all(len(code) == 8 and set(code) <= set(COUNTER_CODE_ALPHABET) for code in codes)
    assert not set("".join(codes)) & set("0O1IL2Z5S8BUVDQ")
    assert len(set(codes)) == 20


@time_machine.travel(EASTERN_NOON, tick=False)
@pytest.mark.parametrize(
    ("asked", "issued"),
    [(None, Channel.ONLINE), (Channel.ONLINE, Channel.ONLINE), (Channel.POST_OFFICE, "PO")],
)
def test_a_policy_offering_both_channels_issues_the_one_asked_for(asked, issued):
    policy = PolicyFactory(channel=Channel.BOTH)

    label = issue(policy, channel=asked)

    assert label.channel == (Channel.POST_OFFICE if issued == "PO" else issued)
    assert bool(label.counter_code) == (issued == "PO")


@time_machine.travel(EASTERN_NOON, tick=False)
@pytest.mark.parametrize(
    ("offered", "asked"),
    [(Channel.ONLINE, Channel.POST_OFFICE), (Channel.POST_OFFICE, Channel.ONLINE)],
)
def test_a_channel_the_policy_does_not_offer_is_refused_as_unavailable(offered, asked):
    policy = PolicyFactory(channel=offered)

    with pytest.raises(LabelsUnavailable):
        issue(policy, channel=asked)
    assert not ReturnLabel.objects.exists()


@pytest.mark.parametrize(
    "policy_state",
    [
        {"status": ReturnPolicy.Status.INACTIVE},
        {
            "status": ReturnPolicy.Status.SUSPENDED,
            "suspended_because": ReturnPolicy.SuspendedBecause.CARD_EXPIRED,
        },
        {"deleted_at": datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC)},
    ],
    ids=["inactive", "suspended", "deleted"],
)
def test_a_policy_that_does_not_issue_labels_is_refused_like_an_unknown_link(policy_state):
    policy = PolicyFactory(**policy_state)

    with pytest.raises(LabelsUnavailable) as refused:
        issue(policy)
    with pytest.raises(LabelsUnavailable) as unknown:
        issue_label(policy_token="no-such-link", data=ask(), ip=None, language="en")

    assert str(refused.value.message) == str(unknown.value.message)
    assert not ReturnLabel.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("purchased", "issued"),
    [
        (datetime.date(2026, 9, 15), True),  # the 30th day after purchase: the window's last day
        (datetime.date(2026, 9, 14), False),  # 31 days after
    ],
)
@time_machine.travel(datetime.datetime(2026, 10, 16, 3, 30, tzinfo=datetime.UTC))  # Oct 15, ET
def test_the_return_window_counts_eastern_days_after_the_purchase(purchased, issued):
    policy = PolicyFactory(return_window_days=30)

    if issued:
        assert issue(policy, purchase_date=purchased).purchase_date == purchased
    else:
        with pytest.raises(ReturnWindowPassed):
            issue(policy, purchase_date=purchased)
        assert not ReturnLabel.objects.exists()


@time_machine.travel(EASTERN_NOON, tick=False)
def test_a_policy_with_a_return_window_needs_the_purchase_date_and_one_without_does_not():
    windowed, open_ended = (
        PolicyFactory(return_window_days=30),
        PolicyFactory(return_window_days=None),
    )

    with pytest.raises(PurchaseDateRequired):
        issue(windowed, purchase_date=None)
    label = issue(open_ended, purchase_date=None)

    assert label.purchase_date is None
    assert ReturnLabel.objects.get() == label


@time_machine.travel(EASTERN_NOON, tick=False)
def test_issuing_a_label_charges_nothing():
    policy = PolicyFactory()

    label = issue(policy)

    label.refresh_from_db()
    assert (label.charged_at, label.charge_owed) == (None, False)
    assert not Charge.objects.exists()


@time_machine.travel(EASTERN_NOON, tick=False)
def test_a_tracking_number_already_taken_is_drawn_again(monkeypatch):
    taken = LabelFactory(tracking_number=tracking_number(12345678))
    fresh = tracking_number(87654321)
    numbers = iter([taken.tracking_number, fresh])
    monkeypatch.setattr(service, "new_tracking_number", lambda: next(numbers))

    label = issue(PolicyFactory())

    assert label.tracking_number == fresh
    assert ReturnLabel.objects.count() == 2
    assert Delivery.objects.filter(kind=Kind.LABEL).count() == 1  # the failed try left none


@time_machine.travel(EASTERN_NOON, tick=False)
def test_the_customers_email_is_queued_once_per_label_in_their_language(
    django_capture_on_commit_callbacks,
):
    policy = PolicyFactory()

    with django_capture_on_commit_callbacks() as callbacks:
        label = issue(policy, language="fr")

    delivery = Delivery.objects.get()
    assert (delivery.kind, delivery.address, delivery.language) == (
        Kind.LABEL,
        "amelie@shopper.example",
        "fr",
    )
    assert delivery.facts == {"label": label.pk}
    assert delivery.account_id == policy.account_id
    assert len(other_than_fragments(callbacks)) == 1
    assert label.customer_language == "fr"


@time_machine.travel(EASTERN_NOON, tick=False)
def test_an_unknown_language_is_stored_as_the_default_one():
    assert issue(PolicyFactory(), language="de").customer_language == "en"
    assert issue(PolicyFactory(), language="fr-ca").customer_language == "fr"


def test_during_a_return_labels_window_no_label_is_issued(django_capture_on_commit_callbacks):
    policy = PolicyFactory()
    with django_capture_on_commit_callbacks(execute=True):
        closing("return_labels")

    with pytest.raises(FeatureClosed):
        issue(policy)
    assert not ReturnLabel.objects.exists()


# --- the PDF label -----------------------------------------------------------------------------


def pdf_page_text(pdf: bytes) -> tuple[pypdf.PageObject, str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    return page, page.extract_text()


def barcodes_in(pdf: bytes, tmp_path: Path) -> list[tuple[str, str]]:
    """Print the page at 300 dpi (poppler's pdftoppm) and read it as a scanner would."""
    (tmp_path / "label.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-singlefile", "label.pdf", "label"],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    with Image.open(tmp_path / "label.png") as image:
        return [(found.format.name, found.text) for found in zxingcpp.read_barcodes(image)]


def online_label(**fields: Any) -> ReturnLabel:
    policy = PolicyFactory(
        channel=Channel.ONLINE,
        service=ShippingService.EXPEDITED_PARCEL,
        account__legal_name="Boutique Laurier inc.",
        return_name="Service des retours",
        return_street="2701 Riverside Drive",
        return_city="Ottawa",
        return_province="ON",
        return_postal_code="K1A 0B1",
        instructions="Put the invoice in the box.\nNo batteries, please.",
    )
    return LabelFactory(policy=policy, channel=Channel.ONLINE, **fields)


def test_the_pdf_label_is_a_4_by_6_inch_page_with_everything_the_parcel_needs():
    label = online_label(
        customer_name="Amélie Tremblay",
        from_street="55 rue Saint-Jean",
        from_city="Québec",
        from_province="QC",
        from_postal_code="G1R 1N9",
        order_reference="ORD-2026-0042",
    )

    page, text = pdf_page_text(labels.render_label_pdf(label, language="en"))

    assert (float(page.mediabox.width), float(page.mediabox.height)) == (288.0, 432.0)  # points
    for expected in (
        label.tracking_number,
        "Expedited Parcel",
        # from
        "Amélie Tremblay",
        "55 rue Saint-Jean",
        "Québec QC",
        "G1R 1N9",
        # to
        "Boutique Laurier inc.",
        "Service des retours",
        "2701 Riverside Drive",
        "Ottawa ON",
        "K1A 0B1",
        # what else
        "ORD-2026-0042",
        "Put the invoice in the box.",
        "No batteries, please.",
    ):
        assert expected in text, expected


def test_the_barcode_on_the_pdf_label_reads_back_as_the_tracking_number(tmp_path):
    label = online_label()

    found = barcodes_in(labels.render_label_pdf(label), tmp_path)

    assert found == [("Code128", label.tracking_number)]


def test_what_a_customer_typed_is_printed_as_text_never_as_markup(tmp_path):
    label = online_label(
        customer_name='<img src="http://attacker.example/x.png">Ali \u200fعلي',
        from_street="1 <b>Main</b> Street & Co",
    )

    _page, text = pdf_page_text(labels.render_label_pdf(label))

    assert '<img src="http://attacker.example/x.png">Ali' in text
    assert "1 <b>Main</b> Street & Co" in text


def test_the_pdf_label_is_in_the_language_asked_for():
    label = online_label()

    for language in ("en", "fr"):
        reader = pypdf.PdfReader(io.BytesIO(labels.render_label_pdf(label, language=language)))
        assert reader.root_object["/Lang"] == f"{language}-CA"


# --- the post-office QR code -------------------------------------------------------------------


def test_the_qr_code_reads_back_as_the_tracking_number_and_the_counter_code():
    label = LabelFactory(channel=Channel.POST_OFFICE, counter_code="K7MPX3RA")

    with Image.open(io.BytesIO(labels.qr_png(label))) as image:
        found = [(code.format.name, code.text) for code in zxingcpp.read_barcodes(image)]

    assert found == [("QRCode", f"{label.tracking_number} K7MPX3RA")]
    assert labels.qr_data_uri(label).startswith("data:image/svg+xml")


# --- the customer's e-mail ---------------------------------------------------------------------


def issue_and_send(policy: ReturnPolicy, capture: Any, **changes: Any) -> ReturnLabel:
    with capture(execute=True):
        label = issue(policy, **changes)
    assert Delivery.objects.get().status == Delivery.Status.SENT
    return label


@time_machine.travel(EASTERN_NOON, tick=False)
def test_an_online_label_is_e_mailed_with_its_pdf(django_capture_on_commit_callbacks):
    policy = PolicyFactory(channel=Channel.ONLINE, instructions="Include the packing slip.")

    label = issue_and_send(policy, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.to == ["amelie@shopper.example"]
    assert label.tracking_number in message.subject
    assert label.tracking_number in message.body
    assert "Include the packing slip." in message.body
    assert f"/return/{policy.link_token}/label/{label.tracking_number}/" in message.body
    [(filename, content, media_type)] = message.attachments
    assert (filename, media_type) == (
        f"return-label-{label.tracking_number}.pdf",
        "application/pdf",
    )
    _page, text = pdf_page_text(content)
    assert label.tracking_number in text


@time_machine.travel(EASTERN_NOON, tick=False)
def test_a_post_office_label_is_e_mailed_with_its_code_and_qr_code(
    django_capture_on_commit_callbacks,
):
    policy = PolicyFactory(channel=Channel.POST_OFFICE)

    label = issue_and_send(policy, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert label.counter_code in message.body
    html = str(message.alternatives[0][0])
    assert label.counter_code in html
    assert f'src="cid:qr-{label.tracking_number}"' in html
    [image] = message.attachments
    assert image["Content-ID"] == f"<qr-{label.tracking_number}>"
    with Image.open(io.BytesIO(image.get_payload(decode=True))) as picture:
        decoded = [code.text for code in zxingcpp.read_barcodes(picture)]
    assert decoded == [f"{label.tracking_number} {label.counter_code}"]
    assert "multipart/related" in message.message().get_content_type()


@time_machine.travel(EASTERN_NOON, tick=False)
def test_the_e_mail_of_a_label_that_no_longer_exists_fails_without_being_sent(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        label = issue(PolicyFactory())
    delivery = Delivery.objects.get()
    label.delete()

    for callback in callbacks:
        callback()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert mail.outbox == []
    assert send_delivery.apply(args=(delivery.pk,)).get() is False


def test_a_label_keeps_the_address_and_instructions_it_was_issued_with():
    """A policy edited after the customer printed the label changes nothing on that label."""
    policy = PolicyFactory(
        channel=Channel.ONLINE,
        return_street="2701 Riverside Drive",
        instructions="Box it.",
        return_window_days=None,
    )
    label = issue(policy)
    policy.return_street, policy.instructions = "1 Moved Avenue", "New rules."
    policy.save()

    _, text = pdf_page_text(labels.render_label_pdf(ReturnLabel.objects.get(pk=label.pk)))

    assert "2701 Riverside Drive" in text and "Box it." in text
    assert "1 Moved Avenue" not in text and "New rules." not in text
