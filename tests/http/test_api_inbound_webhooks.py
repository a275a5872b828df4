"""The quarantine and webhook routes through HTTP: who may do what, what comes back."""

from __future__ import annotations

import pytest

from secdesk.domain.intake import Answers
from secdesk.inbound import services as inbound_services
from secdesk.inbound.models import InboundStatus
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Message
from secdesk.webhooks.models import WebhookDelivery
from tests.inbound_fixtures import make_reply

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.http.inbound_webhooks_urls")]


@pytest.fixture
def call(client, token_for):
    tokens: dict[tuple[str, str], str] = {}

    def send(method: str, path: str, who: str | None = None, json: dict | None = None, scope: str = "write"):
        headers = {}
        if who:
            key = (who, scope)
            if key not in tokens:
                tokens[key] = token_for(who, scope)
            headers["HTTP_AUTHORIZATION"] = f"Bearer {tokens[key]}"
        kwargs = {"data": json, "content_type": "application/json"} if json is not None else {}
        return getattr(client, method)(f"/api/v1{path}", **kwargs, **headers)

    return send


@pytest.fixture
def ticket(world, vulnerability):
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in vulnerability.items()}
    filed, _ = ticket_services.create_ticket(world.actor("alice"), answers=Answers(**data), submit=True)
    return filed


def test_quarantine_list_release_and_discard(call, world, ticket):
    stranger = inbound_services.receive(
        make_reply(sender="researcher@unknown.example", subject="RCE in your backup offer", body="Details inside."),
        source="test",
    )
    spam = inbound_services.receive(make_reply(sender="spam@unknown.example", subject="Cheap pills"), source="test")

    assert call("get", "/inbound/quarantine").status_code == 401
    assert call("get", "/inbound/quarantine", "alice").status_code == 403
    listed = call("get", "/inbound/quarantine", "audrey")
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [i["id"] for i in items] == [spam.inbound_id, stranger.inbound_id]
    assert items[1]["sender"] == "researcher@unknown.example"
    assert items[1]["excerpt"] == "Details inside."
    assert items[1]["reason"] == "no ticket found (reply address, subject or references)"

    release = f"/inbound/quarantine/{stranger.inbound_id}/release"
    body = {"confirmation_number": ticket.confirmation_number}
    assert call("post", release, "bob", body).status_code == 404  # publishers: it does not exist
    assert call("post", release, "alice", body).status_code == 404
    assert call("post", release, "audrey", body).status_code == 403
    assert call("post", release, "rita", body, scope="read").status_code == 403
    released = call("post", release, "rita", body)
    assert released.status_code == 200, released.content
    assert released.json()["status"] == InboundStatus.POSTED
    assert released.json()["ticket"] == ticket.confirmation_number
    message = Message.objects.get(ticket=ticket)
    assert message.from_marketplace
    assert "Details inside." in message.body
    assert call("post", release, "rita", body).status_code == 409

    discard = f"/inbound/quarantine/{spam.inbound_id}/discard"
    assert call("post", discard, "leo", {"reason": "spam"}).json()["status"] == "discarded"
    assert call("get", "/inbound/quarantine", "rita").json()["items"] == []
    assert call("get", "/inbound/quarantine?status=bogus", "rita").status_code == 422
    assert call("post", "/inbound/quarantine/999999/discard", "rita", {}).status_code == 404


def test_webhook_routes(call, world, ticket):
    created = call(
        "post", "/webhooks", "alice", {"url": "http://127.0.0.1:9/hook", "events": ["ticket.status_changed"]}
    )
    assert created.status_code == 201, created.content
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["organization"] == "contoso"
    assert endpoint["created_by"] == "alice@contoso.example"

    listed = call("get", "/webhooks", "alice").json()
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]  # shown once
    assert call("get", "/webhooks", "bob").json() == []
    assert call("get", "/webhooks", "rita").status_code == 403
    assert call("get", "/webhooks").status_code == 401

    marketplace = call("post", "/webhooks", "leo", {"url": "http://127.0.0.1:9/all", "events": ["*"]})
    assert marketplace.json()["organization"] is None
    assert {e["id"] for e in call("get", "/webhooks", "leo").json()} == {endpoint["id"], marketplace.json()["id"]}
    assert call("get", f"/webhooks/{marketplace.json()['id']}/deliveries", "alice").status_code == 404
    refused = call("post", "/webhooks", "alice", {"url": "ftp://example.org/", "events": ["bogus"]})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"url", "events.0"}
    assert call("post", "/webhooks", "rita", {"url": "http://127.0.0.1:9/x", "events": ["*"]}).status_code == 403

    from secdesk.triage import services as triage
    from secdesk.webhooks import dispatch

    triage.acknowledge(
        world.actor("rita"), confirmation_number=ticket.confirmation_number, priority="P1", severity="critical"
    )
    dispatch.drain()
    deliveries = call("get", f"/webhooks/{endpoint['id']}/deliveries", "alice")
    assert deliveries.status_code == 200
    (item,) = deliveries.json()["items"]
    assert item["event_type"] == "ticket.status_changed"
    assert item["payload"]["data"]["to"] == "acknowledged"
    assert item["status"] == "pending"
    assert call("get", f"/webhooks/{endpoint['id']}/deliveries", "bob").status_code == 404

    assert call("delete", f"/webhooks/{endpoint['id']}", "bob").status_code == 404
    assert call("delete", f"/webhooks/{endpoint['id']}", "alice", scope="read").status_code == 403
    assert call("delete", f"/webhooks/{endpoint['id']}", "alice").status_code == 204
    assert call("get", "/webhooks", "alice").json() == []
    assert WebhookDelivery.objects.get(endpoint__public_id=endpoint["id"]).status == "failed"


def test_operations_declare_their_permissions(call):
    schema = call("get", "/openapi.json").json()
    declared = {
        (method.upper(), path): op.get("x-permissions")
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
        if path.startswith(("/api/v1/inbound", "/api/v1/webhooks"))
    }
    assert declared == {
        ("GET", "/api/v1/inbound/quarantine"): ["queue:read"],
        ("POST", "/api/v1/inbound/quarantine/{inbound_id}/release"): ["ticket:triage"],
        ("POST", "/api/v1/inbound/quarantine/{inbound_id}/discard"): ["ticket:triage"],
        ("GET", "/api/v1/webhooks"): ["webhook:manage"],
        ("POST", "/api/v1/webhooks"): ["webhook:manage"],
        ("DELETE", "/api/v1/webhooks/{webhook_id}"): ["webhook:manage"],
        ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): ["webhook:manage"],
    }
