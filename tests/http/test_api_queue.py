"""``GET /api/v1/queue`` through a live server: staff read the triage queue, everyone else is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.http.test_api_tickets import no_nagle  # noqa: F401 — autouse fixture: a fast live server

pytestmark = pytest.mark.django_db(transaction=True)

PROBLEM = "application/problem+json"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make(world: Any, label: str, **fields: Any):
    from secdesk.domain import confirmation
    from secdesk.tickets import search
    from secdesk.tickets.models import NO_DEADLINE, Ticket

    org = fields.pop("organization", "contoso")
    offers = fields.pop("offers", ["contoso-backup"])
    assignee = fields.pop("assignee", None)
    due = fields.pop("due", T0)
    values: dict[str, Any] = {
        "category": "vulnerability",
        "status": "assessing",
        "severity": "high",
        "priority": "P2",
        "description": f"{label}: remote code execution",
        "submitted_at": T0 - timedelta(days=1),
        "acknowledgement_due": T0 - timedelta(hours=2),
    }
    values.update(fields)
    ticket = Ticket.objects.create(
        confirmation_number=confirmation.generate(),
        organization=world.orgs[org],
        created_by=world.users["alice" if org == "contoso" else "bob"],
        due_at=NO_DEADLINE if due is None else due,
        assignee=world.users[assignee] if assignee else None,
        **values,
    )
    ticket.offers.set([world.offers[slug] for slug in offers])
    ticket.search_document = search.document_for(ticket)
    ticket.save(update_fields=["search_document"])
    return ticket


@pytest.fixture
def tickets(world):
    return {
        "breached": make(
            world,
            "breached",
            due=T0,
            breached=True,
            severity="critical",
            priority="P1",
            remediation_due=T0,
            assignee="rita",
            offers=["contoso-vault", "contoso-backup"],
        ),
        "incident": make(
            world,
            "incident",
            due=T0 + timedelta(hours=5),
            organization="fabrikam",
            offers=["fabrikam-gateway"],
            category="security_incident",
            status="submitted",
            severity="",
            priority="",
            description="incident: leaked API tokens in the upload log",
        ),
        "parked": make(world, "parked", due=None, status="awaiting_publisher"),
        "closed": make(world, "closed", due=T0 - timedelta(days=1), status="closed"),
    }


def iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_a_responder_pages_through_the_queue(api, tickets):
    rita = api("rita")
    first = rita.get("/queue", params={"limit": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"items", "next_cursor"}
    assert [item["confirmation_number"] for item in body["items"]] == [
        tickets["breached"].confirmation_number,
        tickets["incident"].confirmation_number,
    ]
    item = body["items"][0]
    assert {k: v for k, v in item.items() if not k.endswith(("_due", "_at"))} == {
        "confirmation_number": tickets["breached"].confirmation_number,
        "status": "assessing",
        "category": "vulnerability",
        "severity": "critical",
        "priority": "P1",
        "organization": "contoso",
        "offers": ["contoso-backup", "contoso-vault"],
        "assignee": "rita@marketplace.example",
        "breached": True,
    }
    assert iso(item["due_at"]) == T0
    assert iso(item["remediation_due"]) == T0
    assert iso(item["acknowledgement_due"]) == T0 - timedelta(hours=2)
    assert iso(item["submitted_at"]) == T0 - timedelta(days=1)
    incident = body["items"][1]
    assert (incident["severity"], incident["priority"], incident["assignee"], incident["remediation_due"]) == (
        None,
        None,
        None,
        None,
    )
    assert incident["organization"] == "fabrikam"
    assert body["next_cursor"]

    second = rita.get("/queue", params={"limit": 2, "cursor": body["next_cursor"]})
    assert second.status_code == 200, second.text
    rest = second.json()
    assert [item["confirmation_number"] for item in rest["items"]] == [tickets["parked"].confirmation_number]
    assert rest["items"][0]["due_at"] is None  # no deadline running
    assert rest["next_cursor"] is None


def test_times_are_in_the_callers_timezone(api, world, tickets):
    world.users["leo"].timezone = "Europe/Paris"
    world.users["leo"].save(update_fields=["timezone"])
    item = api("leo").get("/queue", params={"limit": 1}).json()["items"][0]
    assert item["due_at"].startswith("2026-03-02T10:00:00+01:00")
    assert iso(item["due_at"]) == T0


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": "critical"}, ["breached"]),
        ({"category": "security_incident"}, ["incident"]),
        ({"status": "awaiting_publisher"}, ["parked"]),
        ({"priority": "P2"}, ["parked"]),
        ({"offer": "contoso-vault"}, ["breached"]),
        ({"publisher": "fabrikam"}, ["incident"]),
        ({"assignee": "me"}, ["breached"]),
        ({"assignee": "rita@marketplace.example"}, ["breached"]),
        ({"assignee": "none"}, ["incident", "parked"]),
        ({"breached": "true"}, ["breached"]),
        ({"breached": "false"}, ["incident", "parked"]),
        ({"q": "tokens"}, ["incident"]),
        ({"q": "remote execution"}, ["breached", "parked"]),
        ({"q": "remote", "publisher": "contoso", "breached": "false"}, ["parked"]),
    ],
)
def test_filters(api, tickets, params, expected):
    response = api("rita").get("/queue", params=params)
    assert response.status_code == 200, response.text
    numbers = [item["confirmation_number"] for item in response.json()["items"]]
    assert numbers == [tickets[label].confirmation_number for label in expected]


@pytest.mark.parametrize(
    "q", ['"', "NEAR(", "*", "upload OR", "-", ":", "a:b", "' OR 1=1 --", '"unterminated', "^x", "(", "\\", "🙂"]
)
def test_search_syntax_never_breaks_the_query(api, tickets, q):
    response = api("rita").get("/queue", params={"q": q})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"items", "next_cursor"}


def test_a_publisher_is_refused_with_403(api, tickets):
    for name in ("alice", "bob"):
        response = api(name).get("/queue")
        assert response.status_code == 403, response.text
        assert response.headers["Content-Type"] == PROBLEM
        body = response.json()
        assert body["status"] == 403
        assert body["detail"] == "the triage queue is for marketplace staff"
        assert "items" not in body


def test_anonymous_is_asked_to_sign_in(api, tickets):
    response = api(None).get("/queue")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM


def test_an_auditor_reads_the_queue_even_with_a_read_only_token(api, tickets):
    for scope in ("write", "read"):
        response = api("audrey", scope).get("/queue")
        assert response.status_code == 200, response.text
        assert [item["confirmation_number"] for item in response.json()["items"]] == [
            tickets[label].confirmation_number for label in ("breached", "incident", "parked")
        ]


def test_bad_filters_are_422_problems_naming_each_field(api, tickets):
    response = api("rita").get(
        "/queue",
        params={"status": "closed", "severity": "urgent", "offer": "no-such-offer", "cursor": "garbage"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == PROBLEM
    errors = {e["field"]: e["code"] for e in response.json()["errors"]}
    assert errors == {
        "status": "invalid_choice",
        "severity": "invalid_choice",
        "offer": "unknown",
        "cursor": "invalid_cursor",
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"breached": "maybe"}, "breached"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_malformed_parameters_are_422_problems(api, tickets, params, field):
    response = api("rita").get("/queue", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_limit_bounds_are_accepted(api, tickets):
    rita = api("rita")
    assert len(rita.get("/queue", params={"limit": 1}).json()["items"]) == 1
    assert len(rita.get("/queue", params={"limit": 100}).json()["items"]) == 3


def test_the_route_is_in_the_openapi_document(api, live_server):
    import requests

    schema = requests.get(live_server.url + "/api/v1/openapi.json", timeout=10).json()
    operation = schema["paths"]["/api/v1/queue"]["get"]
    assert operation["operationId"] == "queue_list"
    names = {p["name"] for p in operation["parameters"]}
    assert names == {
        "status",
        "category",
        "severity",
        "priority",
        "offer",
        "publisher",
        "assignee",
        "breached",
        "q",
        "cursor",
        "limit",
    }
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
