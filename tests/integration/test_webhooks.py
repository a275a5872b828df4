"""Webhooks against a real HTTP receiver on loopback, checked by an independent verifier.

The verifier below is written from the documented scheme (``secdesk/webhooks/signing.py``'s
docstring), not imported from the desk: ``Secdesk-Signature: t=<unix>,v1=<hex hmac-sha256(secret,
f"{t}.{body}")>``, refused outside a 300-second window.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from secdesk.domain.errors import InvalidInput, NotFound, PermissionDenied
from secdesk.domain.intake import Answers
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import TimelineEvent
from secdesk.triage import services as triage
from secdesk.webhooks import dispatch, selectors, services
from secdesk.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookCursor, WebhookDelivery

pytestmark = pytest.mark.django_db

REPLAY_WINDOW = 300


def independent_verify(secret: str, header: str, body: bytes, *, now: float) -> bool:
    """A receiver's check, from the documentation alone."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp, signature = parts["t"], parts["v1"]
    if abs(now - int(timestamp)) > REPLAY_WINDOW:
        return False
    mac = hmac.new(secret.encode("utf-8"), msg=timestamp.encode() + b"." + body, digestmod=hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), signature)


class Receiver:
    """An HTTP server in a thread that records every request and answers with the codes it is told."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.codes: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body, "received": time.time()}
                )
                code = receiver.codes.pop(0) if receiver.codes else 204
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def events(self, path: str) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests if r["path"] == path]


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def file_ticket(world, vulnerability, who: str = "alice", offer: str = "contoso-backup"):
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in vulnerability.items()}
    ticket, _ = ticket_services.create_ticket(
        world.actor(who), answers=Answers(**{**data, "offers": (offer,)}), submit=True
    )
    return ticket


def run_everything() -> None:
    dispatch.drain()
    dispatch.send_due()


def test_signed_deliveries_scoped_to_their_owner(world, vulnerability, receiver):
    alice, bob, leo, rita = (world.actor(n) for n in ("alice", "bob", "leo", "rita"))
    contoso = services.create_endpoint(alice, url=receiver.url("/contoso"), events=["*"])
    fabrikam = services.create_endpoint(bob, url=receiver.url("/fabrikam"), events=["*"])
    market = services.create_endpoint(
        leo,
        url=receiver.url("/market"),
        events=["ticket.submitted", "ticket.status_changed", "note.created", "message.created"],
    )
    assert contoso.endpoint.organization == world.orgs["contoso"]
    assert market.endpoint.organization is None

    ticket = file_ticket(world, vulnerability)
    number = ticket.confirmation_number
    triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
    triage.assign(rita, confirmation_number=number, assignee="me")  # internal: staff only
    ticket_services.post_message(rita, confirmation_number=number, body="Internal: looks real.", internal=True)
    ticket_services.post_message(rita, confirmation_number=number, body="We are on it.")
    triage.transition(rita, confirmation_number=number, action="start_assessment")
    triage.create_request(
        rita,
        confirmation_number=number,
        kind="remove_offer",
        description="Please take the offer down until 4.2.4 ships.",
        due_at=timezone.now() + timedelta(days=2),
        offer="contoso-backup",
    )
    run_everything()

    contoso_types = [e["type"] for e in receiver.events("/contoso")]
    assert contoso_types == [
        "ticket.submitted",
        "ticket.status_changed",
        "ticket.acknowledged",
        "ticket.status_changed",
        "message.created",
        "ticket.status_changed",
        "request.created",
        "offer_action.requested",
        "ticket.status_changed",
    ]
    assert receiver.events("/fabrikam") == []  # another organisation's ticket: nothing
    market_types = [e["type"] for e in receiver.events("/market")]
    assert market_types == [
        "ticket.submitted",
        "ticket.status_changed",
        "ticket.status_changed",
        "note.created",
        "message.created",
        "ticket.status_changed",
        "ticket.status_changed",
    ]
    for item in receiver.events("/contoso"):
        assert item["data"]["confirmation_number"] == number
        assert "Internal" not in json.dumps(item)

    moves = [e["data"] for e in receiver.events("/contoso") if e["type"] == "ticket.status_changed"]
    assert [(m["from"], m["to"]) for m in moves] == [
        ("draft", "submitted"),
        ("submitted", "acknowledged"),
        ("acknowledged", "assessing"),
        ("assessing", "awaiting_publisher"),
    ]
    requested = next(e for e in receiver.events("/contoso") if e["type"] == "offer_action.requested")
    assert requested["data"]["kind"] == "remove_offer"
    assert requested["data"]["offer"] == "contoso-backup"
    message = next(e for e in receiver.events("/contoso") if e["type"] == "message.created")
    assert message["data"]["message"]["body"] == "We are on it."

    for request in receiver.requests:
        secret = contoso.secret if request["path"] == "/contoso" else market.secret
        headers = request["headers"]
        assert independent_verify(secret, headers["Secdesk-Signature"], request["body"], now=request["received"])
        assert not independent_verify(fabrikam.secret, headers["Secdesk-Signature"], request["body"], now=time.time())
        payload = json.loads(request["body"])
        assert headers["Secdesk-Event"] == payload["type"]
        assert headers["Content-Type"] == "application/json"
        assert set(payload) == {"id", "type", "created_at", "data"}
        delivery = WebhookDelivery.objects.get(public_id=headers["Secdesk-Delivery"])
        assert delivery.status == DeliveryStatus.DELIVERED
        assert delivery.event_id == payload["id"]
    # The same event has the same id at every endpoint; each delivery its own id.
    first_contoso, first_market = receiver.events("/contoso")[0], receiver.events("/market")[0]
    assert first_contoso["id"] == first_market["id"]

    # Draining and sending again changes nothing.
    count = WebhookDelivery.objects.count()
    run_everything()
    assert WebhookDelivery.objects.count() == count
    assert len(receiver.requests) == count


def test_a_replayed_or_tampered_delivery_is_refused_by_the_verifier(world, vulnerability, receiver):
    created = services.create_endpoint(world.actor("alice"), url=receiver.url(), events=["ticket.submitted"])
    file_ticket(world, vulnerability)
    run_everything()
    (request,) = receiver.requests
    header, body = request["headers"]["Secdesk-Signature"], request["body"]
    stamp = int(dict(item.split("=", 1) for item in header.split(","))["t"])
    assert abs(stamp - request["received"]) < 5  # signed when sent
    assert independent_verify(created.secret, header, body, now=stamp + 299)
    assert not independent_verify(created.secret, header, body, now=stamp + 301)  # a replay, 5 minutes on
    assert not independent_verify(created.secret, header, body, now=stamp - 301)
    assert not independent_verify(created.secret, header, body.replace(b"submitted", b"withdrawn"), now=stamp)
    forged = header.replace(f"t={stamp}", f"t={stamp + 400}")  # a fresh time cannot be put on an old signature
    assert not independent_verify(created.secret, forged, body, now=stamp + 400)


def test_a_failing_receiver_is_retried_with_backoff(settings, world, vulnerability, receiver):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    services.create_endpoint(world.actor("alice"), url=receiver.url(), events=["ticket.submitted"])
    receiver.codes = [500, 503, 200]
    file_ticket(world, vulnerability)
    dispatch.drain()

    start = timezone.now()
    assert dispatch.send_due(now=start).retrying == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    first_delay = (delivery.next_attempt_at - start).total_seconds()
    assert 54 <= first_delay <= 66  # 60 s ± 10 %

    assert dispatch.send_due(now=start + timedelta(seconds=30)).ids == []  # not due yet: nothing sent
    assert len(receiver.requests) == 1

    second = delivery.next_attempt_at
    assert dispatch.send_due(now=second).retrying == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code) == (2, 503)
    second_delay = (delivery.next_attempt_at - second).total_seconds()
    assert 108 <= second_delay <= 132  # doubled

    assert dispatch.send_due(now=delivery.next_attempt_at).delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 3, 200)
    assert delivery.delivered_at is not None
    log = list(
        WebhookAttempt.objects.filter(delivery=delivery).order_by("number").values_list("number", "response_code")
    )
    assert log == [(1, 500), (2, 503), (3, 200)]
    ids = {r["headers"]["Secdesk-Delivery"] for r in receiver.requests}
    assert ids == {delivery.public_id}  # the same delivery id on every retry, for de-duplication


def test_retries_stop(settings, world, vulnerability, receiver):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    services.create_endpoint(world.actor("alice"), url=receiver.url("/a"), events=["ticket.submitted"])
    services.create_endpoint(world.actor("alice"), url=receiver.url("/gone"), events=["ticket.submitted"])
    receiver.codes = [500, 410, 500]  # /a first, then /gone (by endpoint order), then /a again
    file_ticket(world, vulnerability)
    dispatch.drain()
    now = timezone.now()
    dispatch.send_due(now=now)
    gone = WebhookDelivery.objects.get(endpoint__url__endswith="/gone")
    assert (gone.status, gone.attempts) == ("failed", 1)  # 410 Gone: no retry
    dispatch.send_due(now=now + timedelta(days=2))
    failing = WebhookDelivery.objects.get(endpoint__url__endswith="/a")
    assert (failing.status, failing.attempts, failing.last_error) == ("failed", 2, "HTTP 500 Internal Server Error")
    assert dispatch.send_due(now=now + timedelta(days=4)).ids == []


def test_claims_keep_two_senders_apart(world, vulnerability, receiver):
    services.create_endpoint(world.actor("alice"), url=receiver.url(), events=["ticket.submitted"])
    file_ticket(world, vulnerability)
    dispatch.drain()
    now = timezone.now()
    # Another worker holds the claim: this one leaves it alone ...
    WebhookDelivery.objects.update(status=DeliveryStatus.SENDING, claimed_at=now, attempts=1)
    assert dispatch.send_due(now=now + timedelta(seconds=10)).ids == []
    assert receiver.requests == []
    # ... until its lease has run out (it died): then the delivery is taken over.
    assert dispatch.send_due(now=now + dispatch.LEASE + timedelta(seconds=1)).delivered == 1
    assert WebhookDelivery.objects.get().attempts == 2


def test_drain_picks_up_events_that_committed_late(world, vulnerability, receiver):
    services.create_endpoint(world.actor("alice"), url=receiver.url(), events=["ticket.submitted"])
    ticket = file_ticket(world, vulnerability)
    event = TimelineEvent.objects.get(ticket=ticket, kind="ticket.submitted")
    # The cursor already moved past this id while its transaction had not committed: it is remembered.
    WebhookCursor.objects.update_or_create(
        pk=1, defaults={"last_event_id": event.pk + 5, "pending_ids": {str(event.pk): timezone.now().isoformat()}}
    )
    assert dispatch.drain() == 1
    assert WebhookCursor.objects.get().pending_ids == {}
    # Forgotten after a while (a rolled-back transaction leaves a gap for ever).
    stale = (timezone.now() - dispatch.PENDING_ID_TTL - timedelta(seconds=1)).isoformat()
    WebhookCursor.objects.filter(pk=1).update(pending_ids={str(event.pk + 100): stale})
    dispatch.drain()
    assert WebhookCursor.objects.get().pending_ids == {}


def test_endpoints_get_only_later_events_and_drafts_stay_private(world, vulnerability, receiver):
    file_ticket(world, vulnerability)  # before any endpoint
    market = services.create_endpoint(world.actor("leo"), url=receiver.url("/market"), events=["*"])
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in vulnerability.items()}
    draft, _ = ticket_services.create_ticket(world.actor("alice"), answers=Answers(**data), submit=False)
    ticket_services.post_message(world.actor("alice"), confirmation_number=draft.confirmation_number, body="draft")
    run_everything()
    assert receiver.events("/market") == []
    ticket_services.submit_ticket(world.actor("alice"), confirmation_number=draft.confirmation_number)
    run_everything()
    assert [e["type"] for e in receiver.events("/market")] == ["ticket.submitted", "ticket.status_changed"]
    assert market.endpoint.deliveries.count() == 2


def test_deleting_an_endpoint_stops_deliveries(world, vulnerability, receiver):
    created = services.create_endpoint(world.actor("alice"), url=receiver.url(), events=["*"])
    file_ticket(world, vulnerability)
    dispatch.drain()
    services.delete_endpoint(world.actor("alice"), endpoint_id=created.endpoint.public_id)
    dispatch.send_due()
    assert receiver.requests == []
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}
    with pytest.raises(NotFound):
        selectors.access_endpoint(world.actor("alice"), created.endpoint.public_id)


def test_who_manages_which_endpoints(settings, world, receiver):
    alice, bob, leo, rita, audrey = (world.actor(n) for n in ("alice", "bob", "leo", "rita", "audrey"))
    url = receiver.url()
    for actor in (rita, audrey):
        with pytest.raises(PermissionDenied):
            services.create_endpoint(actor, url=url, events=["*"])
        with pytest.raises(PermissionDenied):
            selectors.endpoints_visible_to(actor)
    with pytest.raises(NotFound):
        services.create_endpoint(bob, url=url, events=["*"], organization="contoso")
    contoso = services.create_endpoint(leo, url=url, events=["*"], organization="contoso").endpoint
    mine = services.create_endpoint(alice, url=url, events=["message.created"]).endpoint
    assert {e.pk for e in selectors.endpoints_visible_to(alice)} == {contoso.pk, mine.pk}
    assert list(selectors.endpoints_visible_to(bob)) == []
    with pytest.raises(NotFound):
        selectors.access_endpoint(bob, mine.public_id)
    with pytest.raises(NotFound):
        selectors.deliveries(rita, mine.public_id)
    with pytest.raises(InvalidInput) as refused:
        services.create_endpoint(alice, url=url, events=["note.created", "no.such"])
    assert {e.field for e in refused.value.errors} == {"events", "events.1"}


@pytest.mark.parametrize(
    ("url", "allow_private", "problem"),
    [
        ("http://127.0.0.1:9/hook", True, None),
        ("http://127.0.0.1:9/hook", False, "the URL must be https (plain http only to loopback, in development)"),
        ("https://127.0.0.1:9/hook", False, "the host resolves to a private, loopback or reserved address"),
        ("https://10.1.2.3/hook", False, "the host resolves to a private, loopback or reserved address"),
        ("http://192.0.2.10/hook", True, "the URL must be https (plain http only to loopback, in development)"),
        ("https://user:pw@127.0.0.1/hook", True, "the URL must not carry a user name or password"),
        ("ftp://127.0.0.1/hook", True, "the URL must be https://host/…"),
    ],
)
def test_destinations(settings, url, allow_private, problem):
    settings.WEBHOOK_ALLOW_PRIVATE = allow_private
    assert dispatch.destination_problem(url) == problem


def test_the_desks_own_verify_matches_the_documentation():
    from secdesk.webhooks import signing

    body = b'{"id":"evt_1.ticket.submitted"}'
    header = signing.header("whsec_test", body, timestamp=1_764_064_800)
    assert independent_verify("whsec_test", header, body, now=1_764_064_800)
    assert signing.verify("whsec_test", header, body, now=1_764_064_800 + 300)
    assert not signing.verify("whsec_test", header, body, now=1_764_064_800 + 301)


def test_tasks_for_the_schedule(settings, world, vulnerability, receiver):
    from secdesk.inbound.tasks import poll_mailbox_task
    from secdesk.webhooks.tasks import drain_task, send_due_task

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.IMAP_URL = ""
    services.create_endpoint(world.actor("alice"), url=receiver.url(), events=["ticket.submitted"])
    file_ticket(world, vulnerability)
    drained = drain_task.enqueue()
    assert (drained.status, drained.return_value) == ("SUCCESSFUL", 1)
    sent = send_due_task.enqueue()
    assert sent.return_value == {"delivered": 1, "retrying": 0, "failed": 0}
    assert poll_mailbox_task.enqueue().return_value == {"fetched": 0, "failed": 0}
