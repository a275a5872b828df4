"""The operations pages through Django's test client: the inbound e-mail quarantine and webhook endpoints.

Staff decide on quarantined e-mail (publishers 403); an e-mail is shown as
escaped text with its attachments listed, never served; a mistyped or unknown
confirmation number is refused next to its field. Webhook endpoints are their
owners' (another organisation's answers 404), the signing secret is shown once,
and every page keeps a bound on its queries whatever the number of rows.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import resolve
from django.utils import timezone

from secdesk.domain import confirmation
from secdesk.domain.intake import Answers
from secdesk.domain.policy import Permission
from secdesk.inbound import services as inbound_services
from secdesk.inbound.models import InboundMessage
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Message, Ticket
from secdesk.web.operations.vocabulary import EVENTS
from secdesk.webhooks.events import EVENT_TYPES
from secdesk.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.inbound_fixtures import make_reply

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"

ROUTES = {
    "/operations/quarantine/": Permission.QUEUE_READ,
    "/operations/quarantine/1/": Permission.QUEUE_READ,
    "/operations/quarantine/1/release/": Permission.TICKET_TRIAGE,
    "/operations/quarantine/1/discard/": Permission.TICKET_TRIAGE,
    "/operations/webhooks/": Permission.WEBHOOK_MANAGE,
    "/operations/webhooks/whk_0/": Permission.WEBHOOK_MANAGE,
    "/operations/webhooks/whk_0/delete/": Permission.WEBHOOK_MANAGE,
}


@pytest.fixture(autouse=True)
def _staff_without_totp(settings):
    settings.SECDESK_DEMO_RELAX_MFA = True  # these tests are about the pages, not the second factor


def _quarantined(**changes: object) -> int:
    values: dict[str, object] = {
        "sender": "stranger@unknown.example",
        "subject": f"Urgent {SCRIPT}",
        "body": f"Please look at this {IMG} {SCRIPT}",
        "headers": {"Authentication-Results": "mx.example.net; dmarc=fail header.from=unknown.example"},
        "attachments": [(f"report{SCRIPT}.html", "text/html", SCRIPT.encode())],
    }
    values.update(changes)
    received = inbound_services.receive(make_reply(**values), source="test")
    assert received.status == "quarantined", received.reason
    return received.inbound_id


def _ticket(world) -> str:
    answers = Answers(category="security_incident", description="RCE", offers=("contoso-backup",), mitigation="none")
    return ticket_services.create_ticket(world.actor("alice"), answers=answers, submit=True).ticket.confirmation_number


def _unknown_number() -> str:
    numbers = set(Ticket.objects.values_list("confirmation_number", flat=True))
    number = confirmation.generate()
    while number in numbers:
        number = confirmation.generate()
    return number


@pytest.mark.parametrize(("path", "permission"), sorted(ROUTES.items()))
def test_every_page_declares_its_permission(path, permission):
    assert resolve(path).func.permission is permission


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_pages_need_a_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_the_event_words_follow_the_catalogue():
    assert list(EVENTS) == list(EVENT_TYPES)


# --- Quarantine ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_publishers_never_see_the_quarantine(client, world, name):
    inbound_id = _quarantined()
    client.force_login(world.users[name])
    assert client.get("/operations/quarantine/").status_code == 403
    assert client.get(f"/operations/quarantine/{inbound_id}/").status_code == 403
    number = _ticket(world)
    assert (
        client.post(f"/operations/quarantine/{inbound_id}/release/", {"confirmation_number": number}).status_code == 403
    )
    assert client.post(f"/operations/quarantine/{inbound_id}/discard/").status_code == 403
    assert InboundMessage.objects.get(pk=inbound_id).status == "quarantined"


def test_the_quarantine_lists_what_waits_escaped_and_bounded(client, world, django_assert_max_num_queries):
    for index in range(30):
        _quarantined(subject=f"Mail {index} {SCRIPT}")
    client.force_login(world.users["rita"])
    with django_assert_max_num_queries(8):
        first = client.get("/operations/quarantine/")
    html = first.content.decode()
    assert first.status_code == 200
    assert html.count("<tr data-inbound-id=") == 25
    assert SCRIPT not in html
    assert "Mail 29 &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "no ticket found" in html  # why it is here
    older = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    with django_assert_max_num_queries(8):
        second = client.get("/operations/quarantine/" + older).content.decode()
    assert second.count("<tr data-inbound-id=") == 5
    assert client.get("/operations/quarantine/", {"status": "posted-by-magic"}).status_code == 400
    assert client.get("/operations/quarantine/", {"after": "-1"}).status_code == 400


def test_an_email_is_shown_as_text_with_its_headers_and_attachments(client, world, django_assert_max_num_queries):
    inbound_id = _quarantined()
    client.force_login(world.users["audrey"])
    with django_assert_max_num_queries(8):
        response = client.get(f"/operations/quarantine/{inbound_id}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert SCRIPT not in html
    assert IMG not in html
    assert "Please look at this &lt;img src=x onerror=alert(1)&gt;" in html
    headers = re.search(r'<dl class="mail-headers" id="mail-headers">.*?</dl>', html, re.S).group(0)
    assert "stranger@unknown.example" in headers
    assert "reply@inbound.example.test" in headers  # To
    assert "Urgent &lt;script&gt;" in headers
    assert "dmarc=fail" in headers
    assert "<time datetime=" in headers  # the Date, in the reader's timezone
    attachments = re.search(r'<ul class="attachment-list" id="mail-attachments">.*?</ul>', html, re.S).group(0)
    assert "report&lt;script&gt;alert(1)&lt;/script&gt;.html" in attachments
    assert "<a " not in attachments  # listed, never served
    assert 'id="release"' not in html  # an auditor looks, and decides nothing
    assert client.get("/operations/quarantine/999999/").status_code == 404


def test_a_date_without_a_zone_does_not_break_the_page(client, world):
    raw = make_reply(sender="x@unknown.example").replace(b"Date: ", b"X-Old-Date: ", 1)
    raw = b"Date: Wed, 25 Nov 2026 10:00:00 -0000\r\n" + raw
    inbound_id = inbound_services.receive(raw, source="test").inbound_id
    client.force_login(world.users["rita"])
    html = client.get(f"/operations/quarantine/{inbound_id}/").content.decode()
    assert 'datetime="2026-11-25T10:00:00+00:00"' in html


def test_release_refuses_a_mistyped_or_unknown_number_next_to_the_field(client, world):
    inbound_id = _quarantined()
    client.force_login(world.users["rita"])
    url = f"/operations/quarantine/{inbound_id}/release/"
    for typed, words in (
        ("", "Give the confirmation number"),
        ("SEC-1234-5678-9X", "typo"),
        (_unknown_number(), "No ticket"),
    ):
        response = client.post(url, {"confirmation_number": typed})
        assert response.status_code == 400
        html = response.content.decode()
        error = re.search(r'<div class="field-error" id="err-confirmation_number">(.*?)</div>', html, re.S).group(1)
        assert words in error
        field = re.search(r'<input type="text" id="field-confirmation_number"[^>]*>', html).group(0)
        assert 'aria-describedby="err-confirmation_number"' in field
        assert f'value="{typed}"' in field  # what was typed is kept
    assert InboundMessage.objects.get(pk=inbound_id).status == "quarantined"
    assert not Message.objects.exists()


def test_release_posts_the_email_onto_the_ticket(client, world):
    number = _ticket(world)
    inbound_id = _quarantined()
    client.force_login(world.users["rita"])
    page = client.get(f"/operations/quarantine/{inbound_id}/").content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 4  # language, sign-out, release, discard
    response = client.post(f"/operations/quarantine/{inbound_id}/release/", {"confirmation_number": number.lower()})
    assert response.status_code == 302
    assert response["Location"] == "/operations/quarantine/"
    row = InboundMessage.objects.get(pk=inbound_id)
    assert row.status == "posted"
    assert row.decided_by == world.users["rita"]
    posted = Ticket.objects.get(confirmation_number=number).messages.get()
    assert "stranger@unknown.example" in posted.body
    assert posted.attachments.count() == 1
    listing = client.get("/operations/quarantine/").content.decode()
    assert f"The e-mail was posted to ticket {number}." in listing
    assert f'data-inbound-id="{inbound_id}"' not in listing
    released = client.get("/operations/quarantine/", {"status": "released"}).content.decode()
    assert f'data-inbound-id="{inbound_id}"' in released
    again = client.post(f"/operations/quarantine/{inbound_id}/release/", {"confirmation_number": number})
    assert again.status_code == 409
    assert Ticket.objects.get(confirmation_number=number).messages.count() == 1


def test_discard_with_a_reason(client, world):
    inbound_id = _quarantined()
    client.force_login(world.users["leo"])
    url = f"/operations/quarantine/{inbound_id}/discard/"
    long = client.post(url, {"reason": "x" * 301})
    assert long.status_code == 400
    assert 'id="err-reason"' in long.content.decode()
    assert InboundMessage.objects.get(pk=inbound_id).status == "quarantined"
    response = client.post(url, {"reason": f"spam {SCRIPT}"})
    assert response.status_code == 302
    row = InboundMessage.objects.get(pk=inbound_id)
    assert row.status == "discarded"
    assert "spam" in row.reason
    discarded = client.get("/operations/quarantine/", {"status": "discarded"}).content.decode()
    assert f'data-inbound-id="{inbound_id}"' in discarded
    assert SCRIPT not in discarded


def test_an_auditor_cannot_decide(client, world):
    inbound_id = _quarantined()
    client.force_login(world.users["audrey"])
    assert client.post(f"/operations/quarantine/{inbound_id}/discard/").status_code == 403
    assert InboundMessage.objects.get(pk=inbound_id).status == "quarantined"


def test_quarantine_forms_need_the_csrf_token(world):
    from django.test import Client

    inbound_id = _quarantined()
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["rita"])
    assert client.post(f"/operations/quarantine/{inbound_id}/discard/").status_code == 403
    assert InboundMessage.objects.get(pk=inbound_id).status == "quarantined"


# --- Webhooks --------------------------------------------------------------------------------------


def _create(client, **changes: object):
    data: dict[str, object] = {"url": "http://127.0.0.1:9/hook", "events": ["ticket.status_changed", "message.created"]}
    data.update(changes)
    return client.post("/operations/webhooks/", data)


def test_a_publisher_admin_registers_an_endpoint_and_sees_the_secret_once(client, world):
    client.force_login(world.users["alice"])
    page = client.get("/operations/webhooks/").content.decode()
    assert 'id="no-webhooks"' in page
    assert 'value="note.created"' not in page  # marketplace endpoints only
    assert 'name="organization"' not in page  # one organisation: nothing to choose
    response = _create(client, description=f"SIEM {SCRIPT}")
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.organization == world.orgs["contoso"]
    assert endpoint.events == ["ticket.status_changed", "message.created"]
    html = response.content.decode()
    assert f'<code class="secret" id="webhook-secret">{endpoint.secret}</code>' in html
    assert "SIEM &lt;script&gt;" in html
    assert SCRIPT not in html
    again = client.get("/operations/webhooks/").content.decode()
    assert endpoint.secret not in again  # shown once
    assert f'data-webhook-id="{endpoint.public_id}"' in again
    detail = client.get(f"/operations/webhooks/{endpoint.public_id}/").content.decode()
    assert endpoint.secret not in detail
    assert "<code>message.created</code>" in detail


def test_field_errors_are_tied_to_their_fields_and_nothing_is_saved(client, world):
    client.force_login(world.users["alice"])
    response = _create(client, url="ftp://example.org/", events=[])
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="err-url"' in html
    assert 'id="err-events"' in html
    url_input = re.search(r'<input type="url" id="field-url"[^>]*>', html).group(0)
    assert "err-url" in url_input
    assert 'aria-invalid="true"' in url_input
    assert 'value="ftp://example.org/"' in url_input
    assert re.search(r'<fieldset id="field-events" aria-describedby="err-events">', html)
    assert 'id="error-summary"' in html
    note = _create(client, events=["note.created"])
    assert note.status_code == 400
    assert 'id="err-events"' in note.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_another_organisations_endpoint_is_missing(client, world):
    client.force_login(world.users["alice"])
    _create(client)
    endpoint = WebhookEndpoint.objects.get()
    client.force_login(world.users["bob"])
    assert endpoint.public_id not in client.get("/operations/webhooks/").content.decode()
    assert client.get(f"/operations/webhooks/{endpoint.public_id}/").status_code == 404
    assert client.post(f"/operations/webhooks/{endpoint.public_id}/delete/", {"confirm": "yes"}).status_code == 404
    assert _create(client, organization="contoso").status_code == 400  # not one bob manages
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).deleted_at is None


@pytest.mark.parametrize("name", ["audrey", "rita"])
def test_staff_other_than_leads_do_not_manage_webhooks(client, world, name):
    client.force_login(world.users[name])
    assert client.get("/operations/webhooks/").status_code == 403
    assert _create(client).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_a_lead_manages_every_endpoint_and_the_marketplaces(client, world):
    client.force_login(world.users["alice"])
    _create(client)
    client.force_login(world.users["leo"])
    page = client.get("/operations/webhooks/").content.decode()
    assert 'name="organization"' in page
    assert 'value="note.created"' in page
    created = _create(client, events=["*"], organization="")
    assert created.status_code == 201
    marketplace = WebhookEndpoint.objects.get(organization__isnull=True)
    assert marketplace.events == ["*"]
    for_fabrikam = _create(client, organization="fabrikam")
    assert for_fabrikam.status_code == 201
    listing = client.get("/operations/webhooks/").content.decode()
    assert listing.count("<tr data-webhook-id=") == 3


def test_delete_needs_a_confirmation(client, world):
    client.force_login(world.users["alice"])
    _create(client)
    endpoint = WebhookEndpoint.objects.get()
    url = f"/operations/webhooks/{endpoint.public_id}/delete/"
    unconfirmed = client.post(url)
    assert unconfirmed.status_code == 400
    html = unconfirmed.content.decode()
    assert 'id="err-confirm"' in html
    assert 'aria-describedby="err-confirm"' in html
    assert WebhookEndpoint.objects.get().deleted_at is None
    done = client.post(url, {"confirm": "yes"})
    assert done.status_code == 302
    assert WebhookEndpoint.objects.get().deleted_at is not None
    assert endpoint.public_id not in client.get("/operations/webhooks/").content.decode()
    assert client.get(f"/operations/webhooks/{endpoint.public_id}/").status_code == 404


def test_deliveries_are_listed_with_attempts_and_bounded_queries(client, world, django_assert_max_num_queries):
    client.force_login(world.users["alice"])
    _create(client)
    endpoint = WebhookEndpoint.objects.get()
    now = timezone.now()
    for index in range(30):
        failed = index % 3 == 0
        delivery = WebhookDelivery.objects.create(
            public_id=f"dlv_{index:04d}",
            endpoint=endpoint,
            event_id=f"evt_{index}.ticket.status_changed",
            event_type="ticket.status_changed",
            payload={"note": SCRIPT},
            status="failed" if failed else "pending",
            attempts=2,
            next_attempt_at=now + timedelta(minutes=5),
            response_code=503 if failed else None,
            last_error=f"HTTP 503 {SCRIPT}" if failed else "",
        )
        for number in (1, 2):
            WebhookAttempt.objects.create(delivery=delivery, number=number, response_code=503, duration_ms=12)
    url = f"/operations/webhooks/{endpoint.public_id}/"
    with django_assert_max_num_queries(10):
        first = client.get(url)
    html = first.content.decode()
    assert html.count("<tr data-delivery=") == 25
    assert SCRIPT not in html
    assert "HTTP 503 &lt;script&gt;" in html
    pending = re.search(r'<tr data-delivery="dlv_0028" data-status="pending">.*?</tr>', html, re.S).group(0)
    assert "Waiting to be sent" in pending
    assert "<time" in pending  # the next retry
    older = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    with django_assert_max_num_queries(10):
        second = client.get(older).content.decode()
    assert second.count("<tr data-delivery=") == 5
    only_failed = client.get(url, {"status": "failed"}).content.decode()
    assert set(re.findall(r'data-status="(\w+)">', only_failed)) == {"failed"}
    assert client.get(url, {"status": "bogus"}).status_code == 400


def test_webhook_forms_need_the_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["alice"])
    assert _create(client).status_code == 403
    assert not WebhookEndpoint.objects.exists()
    page = client.get("/operations/webhooks/").content.decode()
    form = re.search(r'<form method="post" action="/operations/webhooks/" id="create-webhook".*?</form>', page, re.S)
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
