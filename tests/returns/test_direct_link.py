"""The direct return link, as a business's customer uses it: signed out, in English or French.

Statuses: 404 when labels are not available (unknown link; inactive, suspended or deleted
policy) or a label is not found, 403 when the return window has passed, 429 over a rate limit,
503 during a return-labels maintenance window.
"""

import datetime
import io
import re
from typing import Any

import pypdf
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from outages.features import Feature
from outages.models import Interruption
from portal.models import Delivery
from returns.models import Channel, ReturnLabel, ReturnPolicy
from returns.views import public
from tests.outages.factories import closing
from tests.returns.factories import LabelFactory, PolicyFactory

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 10, 15, 16, 0, tzinfo=datetime.UTC)  # noon, Eastern
IP = "203.0.113.9"


@pytest.fixture(autouse=True)
def _frozen_clock() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def link(policy: ReturnPolicy | str) -> str:
    token = policy if isinstance(policy, str) else policy.link_token
    return reverse("returns:direct_link", args=[token])


def typed(**changes: str) -> dict[str, str]:
    return {
        "customer_name": "Amélie Tremblay",
        "customer_email": "amelie@shopper.example",
        "order_reference": "ORD-2026-0042",
        "purchase_date": "2026-10-01",
        "from_street": "55 rue Saint-Jean",
        "from_city": "Québec",
        "from_province": "QC",
        "from_postal_code": "g1r1n9",
        "channel": Channel.ONLINE,  # ignored unless the policy offers both
        **changes,
    }


def post(client: Any, policy: ReturnPolicy | str, ip: str = IP, **changes: str) -> Any:
    return client.post(link(policy), typed(**changes), REMOTE_ADDR=ip)


def text(response: Any) -> str:
    return response.content.decode()


# --- the form ------------------------------------------------------------------------------------


def test_the_form_shows_signed_out_kept_out_of_search_engines_and_writes_nothing(client):
    policy = PolicyFactory(account__legal_name="Boutique Laurier inc.")

    with CaptureQueriesContext(connection) as queries:
        response = client.get(link(policy))

    assert response.status_code == 200
    assert "Boutique Laurier inc." in text(response)
    assert '<meta name="robots" content="noindex, nofollow">' in text(response)
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert len(queries) <= 4  # the policy (with its account), and the gate's snapshot


@pytest.mark.parametrize(
    ("channel", "asks_which"),
    [(Channel.BOTH, True), (Channel.ONLINE, False), (Channel.POST_OFFICE, False)],
)
def test_the_customer_chooses_the_channel_only_when_the_policy_offers_both(
    client, channel, asks_which
):
    response = client.get(link(PolicyFactory(channel=channel)))

    assert ('name="channel"' in text(response)) == asks_which


def test_the_purchase_date_is_required_only_with_a_return_window(client):
    windowed = client.get(link(PolicyFactory(return_window_days=30)))
    open_ended = client.get(link(PolicyFactory(return_window_days=None)))

    assert re.search(r'name="purchase_date"[^>]*required', text(windowed))
    assert not re.search(r'name="purchase_date"[^>]*required', text(open_ended))


def test_the_customers_page_switches_to_french_and_the_label_follows(
    client, django_capture_on_commit_callbacks
):
    policy = PolicyFactory()
    switched = client.post(reverse("set_language"), {"language": "fr", "next": link(policy)})
    assert switched.status_code == 302 and switched["Location"] == link(policy)

    page = client.get(link(policy))
    with django_capture_on_commit_callbacks(execute=True):
        post(client, policy)

    assert '<html lang="fr-CA">' in text(page)
    label = ReturnLabel.objects.get()
    assert label.customer_language == "fr"
    assert Delivery.objects.get().language == "fr"
    pdf = client.get(reverse("returns:label_pdf", args=[policy.link_token, label.tracking_number]))
    assert pypdf.PdfReader(io.BytesIO(pdf.content)).root_object["/Lang"] == "fr-CA"


# --- issuing -------------------------------------------------------------------------------------


def test_an_online_label_is_issued_then_shown_with_its_pdf(client):
    policy = PolicyFactory(channel=Channel.ONLINE, instructions="Include the packing slip.")

    response = post(client, policy)

    label = ReturnLabel.objects.get()
    done_url = reverse("returns:label_done", args=[policy.link_token, label.tracking_number])
    pdf_url = reverse("returns:label_pdf", args=[policy.link_token, label.tracking_number])
    assert (response.status_code, response["Location"]) == (302, done_url)
    assert label.from_postal_code == "G1R 1N9"  # typed "g1r1n9"

    done = client.get(done_url)
    assert done.status_code == 200
    assert label.tracking_number in text(done)
    assert f'href="{pdf_url}"' in text(done)
    assert "Print the label at its actual size" in text(done)
    assert "Include the packing slip." in text(done)
    assert '<meta name="robots" content="noindex, nofollow">' in text(done)

    pdf = client.get(pdf_url)
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == (
        f'attachment; filename="return-label-{label.tracking_number}.pdf"'
    )
    assert label.tracking_number in pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_a_post_office_label_shows_its_qr_code_and_counter_code_and_has_no_pdf(client):
    policy = PolicyFactory(channel=Channel.BOTH)

    response = post(client, policy, channel=Channel.POST_OFFICE)

    label = ReturnLabel.objects.get()
    assert label.channel == Channel.POST_OFFICE
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert (
        f'<p class="fs-2 fw-bold font-monospace mb-0" id="counter-code">{label.counter_code}</p>'
        in (text(done))
    )
    assert 'src="data:image/svg+xml' in text(done)
    assert "Show the QR code on your phone" in text(done)
    pdf_url = reverse("returns:label_pdf", args=[policy.link_token, label.tracking_number])
    assert pdf_url not in text(done)
    assert client.get(pdf_url).status_code == 404


def test_issuing_sends_the_customer_one_e_mail(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    policy = PolicyFactory(channel=Channel.ONLINE)

    with django_capture_on_commit_callbacks(execute=True):
        post(client, policy)

    label = ReturnLabel.objects.get()
    [message] = mailoutbox
    assert message.to == ["amelie@shopper.example"]
    assert [name for name, _content, _type in message.attachments] == [
        f"return-label-{label.tracking_number}.pdf"
    ]


# --- refusals ------------------------------------------------------------------------------------

NOT_AVAILABLE = "Return labels are not available for this link. Please contact the merchant."


def _not_issuing(state: str) -> str:
    if state == "unknown":
        PolicyFactory()  # a live policy elsewhere changes nothing
        return "this-link-does-not-exist"
    states: dict[str, dict[str, Any]] = {
        "inactive": {"status": ReturnPolicy.Status.INACTIVE},
        "suspended": {
            "status": ReturnPolicy.Status.SUSPENDED,
            "suspended_because": ReturnPolicy.SuspendedBecause.CHARGE_DECLINED,
        },
        "deleted": {"deleted_at": NOW},
    }
    fields = states[state]
    return PolicyFactory(
        account__legal_name="Boutique Laurier inc.",
        name="Holiday returns",
        return_street="2701 Riverside Drive",
        **fields,
    ).link_token


@pytest.mark.parametrize("state", ["unknown", "inactive", "suspended", "deleted"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_link_that_issues_no_labels_says_so_and_nothing_about_the_business(client, state, method):
    token = _not_issuing(state)

    response = client.get(link(token)) if method == "get" else post(client, token)

    assert response.status_code == 404
    page = text(response)
    assert NOT_AVAILABLE in page
    for detail in ("Boutique Laurier", "Holiday returns", "Riverside", "Suspended", "suspend"):
        assert detail not in page
    assert 'name="customer_name"' not in page
    assert not ReturnLabel.objects.exists()


def test_a_purchase_past_the_return_window_gets_a_page_saying_so(client):
    policy = PolicyFactory(return_window_days=30)

    response = post(client, policy, purchase_date="2026-09-14")

    assert response.status_code == 403
    assert "The return window for this purchase has passed." in text(response)
    assert f'href="{link(policy)}"' in text(response)  # to correct a mistyped date
    assert not ReturnLabel.objects.exists()


def test_a_missing_purchase_date_is_a_form_error_when_the_policy_has_a_window(client):
    response = post(client, PolicyFactory(return_window_days=30), purchase_date="")

    assert response.status_code == 400
    assert 'id="id_purchase_date_error"' in text(response)
    assert not ReturnLabel.objects.exists()


LONG = "x" * 10_000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("customer_name", ""),
        ("customer_name", "   "),
        ("customer_name", LONG),
        ("customer_name", "Ami\x00e"),
        ("customer_name", "Ami\x07e"),
        ("customer_name", "Ami\ne"),
        ("customer_name", "\u202eevil\u202c"),  # right-to-left override: reorders the label
        ("customer_name", "Ali \u2067علي\u2069"),
        ("customer_email", "not-an-address"),
        ("customer_email", "amelie@shopper.example\nBcc: all@victims.example"),
        ("customer_email", f"{LONG}@shopper.example"),
        ("order_reference", "x" * 51),
        ("order_reference", "ORD\x1b[31m"),
        ("purchase_date", "2026-13-45"),
        ("purchase_date", "99999-01-01"),
        ("purchase_date", "2026-10-16"),  # tomorrow
        ("purchase_date", LONG),
        ("from_street", LONG),
        ("from_street", "55 rue\tSaint-Jean"),
        ("from_city", "Q" * 101),
        ("from_province", "XX"),
        ("from_province", ""),
        ("from_postal_code", "12345"),
        ("from_postal_code", "\uff27\uff11\uff32 \uff11\uff2e\uff19"),  # full-width
        ("from_postal_code", LONG),
        ("channel", "CARRIER_PIGEON"),
    ],
)
def test_bad_input_answers_with_form_errors_and_issues_nothing(client, field, value):
    policy = PolicyFactory(channel=Channel.BOTH, return_window_days=30)

    response = post(client, policy, **{field: value})

    assert response.status_code == 400
    assert f'id="id_{field}_error"' in text(response)
    assert "Please correct the errors below." in text(response)
    assert not ReturnLabel.objects.exists()


def test_a_request_too_big_or_too_wide_to_read_is_refused_with_a_400(client):
    policy = PolicyFactory()

    too_big = post(client, policy, customer_name="x" * 3_000_000)  # over 2.5 MB
    too_wide = client.post(link(policy), {f"field{n}": "1" for n in range(1_200)})

    assert (too_big.status_code, too_wide.status_code) == (400, 400)
    assert not ReturnLabel.objects.exists()


def test_a_both_channels_policy_needs_the_channel_chosen(client):
    response = post(client, PolicyFactory(channel=Channel.BOTH), channel="")

    assert response.status_code == 400
    assert 'id="id_channel_error"' in text(response)


@pytest.mark.parametrize(
    "name",
    [
        "Ali \u200fعلي",
        "Zoë Ðặng-Łukasik",
        "山田 太郎",
        "Ō'Brien 🎁",
        "\u05e9\u05e8\u05d4 \u200f\u05db\u05d4\u05df",  # Hebrew, with a right-to-left mark
    ],
)
def test_names_in_any_script_with_direction_marks_are_accepted(client, name):
    response = post(client, PolicyFactory(), customer_name=name)

    assert response.status_code == 302
    assert ReturnLabel.objects.get().customer_name == name


# --- maintenance -------------------------------------------------------------------------------


@pytest.fixture
def window(django_capture_on_commit_callbacks: Any) -> Any:
    def open_window(scope: str) -> Interruption:
        with django_capture_on_commit_callbacks(execute=True):
            return closing(Feature.RETURN_LABELS, scope=scope)

    return open_window


def test_during_a_return_labels_window_the_link_says_until_when(client, window):
    interruption = window(Interruption.Scope.ALL)
    policy = PolicyFactory()

    for response in (client.get(link(policy)), post(client, policy)):
        assert response.status_code == 503
        remaining = (interruption.ends_at - NOW).total_seconds()
        assert int(response["Retry-After"]) == remaining
        assert "Return labels is unavailable" in text(response)
        assert "1 p.m." in text(response)  # the window ends at 17:00 UTC: 1 p.m. Eastern
    assert not ReturnLabel.objects.exists()


def test_while_only_issuing_is_closed_the_form_shows_why_its_button_is_disabled(client, window):
    window(Interruption.Scope.WRITES)
    policy = PolicyFactory()

    page = client.get(link(policy))
    refused = post(client, policy)

    assert page.status_code == 200
    assert 'id="labels-down"' in text(page)
    assert "Return labels are unavailable for maintenance" in text(page)
    assert re.search(r'<button type="submit" class="btn btn-primary" disabled', text(page))
    assert refused.status_code == 503
    assert not ReturnLabel.objects.exists()


# --- rate limits -------------------------------------------------------------------------------


def test_too_many_requests_from_one_address_get_a_429_page(client, settings):
    settings.RETURNS_LINK_RATE_PER_IP = 2
    policy = PolicyFactory()

    answers = [post(client, policy).status_code for _ in range(2)]
    bad_form = post(client, policy, customer_email="bad")
    from_elsewhere = post(client, policy, ip="198.51.100.7")

    assert answers == [302, 302]
    assert bad_form.status_code == 429
    assert "Too many requests" in text(bad_form)
    assert bad_form["Retry-After"] == "3600"
    assert from_elsewhere.status_code == 302
    assert ReturnLabel.objects.count() == 3
    assert client.get(link(policy), REMOTE_ADDR=IP).status_code == 200  # a budget of its own


def test_showing_the_form_over_and_over_from_one_address_is_stopped(client, settings):
    settings.RETURNS_LINK_VIEWS_PER_IP = 2
    policy = PolicyFactory()

    shown = [client.get(link(policy), REMOTE_ADDR=IP).status_code for _ in range(2)]
    guessed = client.get(link("not-a-token"), REMOTE_ADDR=IP)  # counted before the token is read
    from_elsewhere = client.get(link(policy), REMOTE_ADDR="198.51.100.7")

    assert shown == [200, 200]
    assert guessed.status_code == 429
    assert guessed["Retry-After"] == "3600"
    assert from_elsewhere.status_code == 200
    assert post(client, policy).status_code == 302  # asking for a label has its own budget


def test_too_many_requests_through_one_link_get_a_429_page(client, settings):
    settings.RETURNS_LINK_RATE_PER_POLICY = 2
    policy, other = PolicyFactory(), PolicyFactory()

    answers = [post(client, policy, ip=f"198.51.100.{n}").status_code for n in range(3)]

    assert answers == [302, 302, 429]
    assert post(client, other).status_code == 302
    assert ReturnLabel.objects.filter(policy=policy).count() == 2


def test_a_limit_reached_on_one_address_does_not_use_up_the_links_quota(client, settings):
    settings.RETURNS_LINK_RATE_PER_IP = 1
    settings.RETURNS_LINK_RATE_PER_POLICY = 3
    policy = PolicyFactory()

    flood = [post(client, policy).status_code for _ in range(5)]
    others = [post(client, policy, ip=f"198.51.100.{n}").status_code for n in range(2)]

    assert flood == [302, 429, 429, 429, 429]
    assert others == [302, 302]


# --- a label's own pages -----------------------------------------------------------------------


def test_a_labels_pages_answer_only_for_its_own_link_and_number(client):
    label = LabelFactory(channel=Channel.ONLINE)
    other_policy = PolicyFactory(account=label.account)
    token, number = label.policy.link_token, label.tracking_number
    assert client.get(reverse("returns:label_done", args=[token, number])).status_code == 200

    for args in (
        [other_policy.link_token, number],  # another policy's link, even of the same business
        [token, "RR000000005CA"],  # a well-formed number of no label
        [token, number.lower()],
        [token, "not-a-number"],
        ["x" * 500, number],
    ):
        for name in ("returns:label_done", "returns:label_pdf"):
            response = client.get(reverse(name, args=args))
            assert response.status_code == 404, (name, args)
            assert "Label not found" in text(response)
            assert label.customer_name not in text(response)


def test_trying_label_numbers_one_after_another_is_stopped(client, settings):
    settings.RETURNS_LINK_RATE_PER_IP = 3
    label = LabelFactory()
    token = label.policy.link_token

    misses = [
        client.get(reverse("returns:label_done", args=[token, f"RR0000000{n}5CA"])).status_code
        for n in range(10, 14)
    ]

    assert misses == [404, 404, 404, 429]
    done = reverse("returns:label_done", args=[token, label.tracking_number])
    assert client.get(done).status_code == 200  # the right pair still shows


def test_drawing_pdfs_over_and_over_from_one_address_is_stopped(client, settings):
    settings.RETURNS_LINK_RATE_PER_IP = 2
    label = LabelFactory(channel=Channel.ONLINE)
    pdf = reverse("returns:label_pdf", args=[label.policy.link_token, label.tracking_number])

    answers = [client.get(pdf).status_code for _ in range(3)]

    assert answers == [200, 200, 429]
    assert client.get(pdf, REMOTE_ADDR="198.51.100.7").status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"status": ReturnPolicy.Status.INACTIVE},
        {"status": ReturnPolicy.Status.SUSPENDED, "suspended_because": "card_expired"},
        {"deleted_at": NOW},
    ],
    ids=["deactivated", "suspended", "deleted"],
)
def test_a_label_stays_available_whatever_its_policy_becomes(client, change):
    label = LabelFactory(channel=Channel.ONLINE)
    ReturnPolicy.objects.filter(pk=label.policy_id).update(**change)
    args = [label.policy.link_token, label.tracking_number]

    assert client.get(reverse("returns:label_done", args=args)).status_code == 200
    assert client.get(reverse("returns:label_pdf", args=args)).status_code == 200
    assert client.get(link(label.policy)).status_code == 404  # but no new label


def test_the_public_pages_are_gated_by_return_labels():
    for view in (public.direct_link, public.label_done, public.label_pdf):
        assert view.gated_feature == Feature.RETURN_LABELS  # type: ignore[attr-defined]
