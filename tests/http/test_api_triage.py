"""Triage through the live API: acknowledge, classify, assign, assess, lifecycle steps, requests,
offer actions and affected customers — with the status codes and problem details each party gets."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

HIGH = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N"
MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"
PROBLEM = "application/problem+json"


def file(api, vulnerability, **changes) -> str:
    response = api("alice").post("/tickets", json={**vulnerability, **changes, "submit": True})
    assert response.status_code == 201, response.text
    return response.json()["confirmation_number"]


def fields_of(response) -> list[str]:
    assert response.headers["Content-Type"] == PROBLEM, response.text
    return [e["field"] for e in response.json()["errors"]]


def kinds(body: dict) -> list[str]:
    return [e["kind"] for e in body["timeline"]]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def ack(client, number: str, **body):
    return client.post(f"/tickets/{number}/acknowledge", json={"priority": "P1", "severity": "critical", **body})


def move(client, number: str, action: str, **body):
    return client.post(f"/tickets/{number}/transitions", json={"action": action, **body})


def add_customers(count: int) -> None:
    from secdesk.marketplace.models import Customer, Deployment, Plan

    plan = Plan.objects.select_related("offer").get(offer__slug="contoso-backup", slug="standard")
    for index in range(count):
        customer = Customer.objects.create(name=f"Extra {index}", slug=f"extra-{index}", tenant_id=f"tenant-x{index}")
        Deployment.objects.create(customer=customer, offer=plan.offer, plan=plan, version=plan.version)


def deployment_customers(offer: str) -> int:
    from secdesk.marketplace.models import Deployment

    return len({d.customer_id for d in Deployment.objects.select_related("offer") if d.offer.slug == offer})


# --- acknowledge ------------------------------------------------------------------


def test_the_suggestions_are_what_acknowledge_accepts_without_a_reason(api, vulnerability):
    add_customers(6)
    assert deployment_customers("contoso-backup") == 10  # high, 10 customers: P2 made one step more urgent
    rita = api("rita")
    number = file(api, vulnerability, cvss_vectors=[MEDIUM, HIGH])

    suggested = rita.get(f"/tickets/{number}/suggestions")
    assert suggested.status_code == 200, suggested.text
    body = suggested.json()
    assert (body["severity"], body["priority"], body["affected_customers"]) == ("high", "P1", 10)
    assert "acknowledge" in body["allowed_actions"]
    assert "withdraw" not in body["allowed_actions"]

    done = ack(rita, number, priority=body["priority"], severity=body["severity"])
    assert done.status_code == 200, done.text
    event = next(e for e in done.json()["timeline"] if e["kind"] == "ticket.acknowledged")
    assert event["data"]["overridden"] == []
    assert event["data"]["suggested"] == {"severity": "high", "priority": "P1"}
    assert done.json()["affected_customers"] == 10

    assert api("alice").get(f"/tickets/{number}/suggestions").status_code == 403
    assert api("bob").get(f"/tickets/{number}/suggestions").status_code == 404


def test_acknowledge_with_an_override_a_reason_and_only_once(api, vulnerability):
    number = file(api, vulnerability)  # critical, 4 customers: P1
    rita = api("rita")

    missing = ack(rita, number, priority="P2")
    assert missing.status_code == 422
    assert fields_of(missing) == ["reason"]
    assert "P1" in missing.json()["errors"][0]["message"]

    done = ack(rita, number, priority="P2", reason="Only reachable from the admin network.")
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["priority"], body["severity"]) == ("acknowledged", "P2", "critical")
    assert when(body["remediation_due"]) - when(body["acknowledged_at"]) == timedelta(days=7)
    event = next(e for e in body["timeline"] if e["kind"] == "ticket.acknowledged")
    assert event["data"]["priority"] == "P2"
    assert event["data"]["severity"] == "critical"
    assert event["data"]["suggested"] == {"severity": "critical", "priority": "P1"}
    assert event["data"]["overridden"] == ["priority"]
    assert event["data"]["reason"] == "Only reachable from the admin network."

    again = ack(api("leo"), number, priority="P2", reason="again")
    assert again.status_code == 409
    assert again.headers["Content-Type"] == PROBLEM
    assert again.json()["type"] == "urn:secdesk:problem:invalid-transition"
    assert "cannot acknowledge a ticket that is acknowledged" in again.json()["detail"]


def test_publishers_and_auditors_cannot_acknowledge(api, vulnerability):
    number = file(api, vulnerability)
    assert ack(api("alice"), number).status_code == 403
    assert ack(api("audrey"), number).status_code == 403
    foreign = ack(api("bob"), number)
    assert foreign.status_code == 404
    assert foreign.json()["detail"] == "No such resource, or not visible to you."
    assert api("alice").get(f"/tickets/{number}").json()["status"] == "submitted"


def test_remediation_targets_follow_the_setting(api, vulnerability, settings):
    settings.REMEDIATION_TARGETS = "critical=3"
    number = file(api, vulnerability)
    body = ack(api("rita"), number).json()
    assert when(body["remediation_due"]) - when(body["acknowledged_at"]) == timedelta(days=3)


def test_severity_none_runs_no_remediation_clock(api, vulnerability):
    number = file(api, vulnerability, category="security_incident", cvss_vectors=[], cve_ids=[], cwe_ids=[])
    body = ack(api("rita"), number, severity="none", priority="P4").json()
    assert (body["status"], body["severity"], body["remediation_due"]) == ("acknowledged", "none", None)


def test_reclassify_needs_a_reason_and_moves_the_remediation_clock(api, vulnerability):
    number = file(api, vulnerability)
    rita = api("rita")
    acked = ack(rita, number).json()

    no_reason = rita.post(f"/tickets/{number}/classification", json={"severity": "medium"})
    assert no_reason.status_code == 422
    assert fields_of(no_reason) == ["reason"]
    blank = rita.post(f"/tickets/{number}/classification", json={"severity": "medium", "reason": " "})
    assert fields_of(blank) == ["reason"]

    changed = rita.post(f"/tickets/{number}/classification", json={"severity": "medium", "reason": "Needs auth."})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["severity"] == "medium"
    assert when(body["remediation_due"]) - when(acked["acknowledged_at"]) == timedelta(days=90)
    event = next(e for e in body["timeline"] if e["kind"] == "ticket.reclassified")
    assert event["data"]["before"]["severity"] == "critical"
    assert event["data"]["after"]["severity"] == "medium"
    assert event["data"]["reason"] == "Needs auth."
    # The publisher sees the change of severity too.
    assert "ticket.reclassified" in kinds(api("alice").get(f"/tickets/{number}").json())


# --- assign -------------------------------------------------------------------------


def test_assignment_is_for_staff_eyes_only(api, vulnerability):
    number = file(api, vulnerability)
    rita, alice = api("rita"), api("alice")

    me = rita.post(f"/tickets/{number}/assign", json={"assignee": "me"})
    assert me.status_code == 200, me.text
    assert me.json()["assignee"] == "rita@marketplace.example"
    to_leo = rita.post(f"/tickets/{number}/assign", json={"assignee": "leo@marketplace.example"})
    assert to_leo.json()["assignee"] == "leo@marketplace.example"
    publisher = rita.post(f"/tickets/{number}/assign", json={"assignee": "alice@contoso.example"})
    assert publisher.status_code == 422
    assert fields_of(publisher) == ["assignee"]
    assert alice.post(f"/tickets/{number}/assign", json={"assignee": "me"}).status_code == 403

    staff_view = rita.get(f"/tickets/{number}").json()
    publisher_view = alice.get(f"/tickets/{number}").json()
    assert staff_view["assignee"] == "leo@marketplace.example"
    assert kinds(staff_view).count("ticket.assigned") == 2
    assert "ticket.assigned" not in kinds(publisher_view)
    assert publisher_view["assignee"] is None

    nobody = rita.post(f"/tickets/{number}/assign", json={"assignee": None})
    assert nobody.status_code == 200
    assert nobody.json()["assignee"] is None


# --- assess and lifecycle ------------------------------------------------------------


def test_assessment_tells_the_publisher_on_the_thread(api, vulnerability):
    number = file(api, vulnerability)
    other = file(api, vulnerability)
    rita = api("rita")
    ack(rita, number)

    needs = rita.post(f"/tickets/{number}/assessment", json={"outcome": "duplicate"})
    assert needs.status_code == 422
    assert fields_of(needs) == ["duplicate_of"]

    done = rita.post(
        f"/tickets/{number}/assessment",
        json={"outcome": "duplicate", "duplicate_of": other.lower(), "summary": "Same upload bug."},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["assessment_outcome"]) == ("assessing", "duplicate")

    messages = api("alice").get(f"/tickets/{number}/messages").json()
    [message] = messages
    assert message["from_marketplace"] is True
    assert message["internal"] is False
    assert "Assessment result: Duplicate" in message["body"]
    assert other in message["body"]
    assert "Same upload bug." in message["body"]
    publisher_view = api("alice").get(f"/tickets/{number}").json()
    assert kinds(publisher_view)[-2:] == ["ticket.assessment_started", "ticket.assessed"]


def test_illegal_steps_are_409_and_missing_facts_422(api, vulnerability):
    number = file(api, vulnerability)
    rita = api("rita")

    early = move(rita, number, "resolve", reason="Fixed.")
    assert early.status_code == 409
    assert early.headers["Content-Type"] == PROBLEM
    assert early.json()["detail"] == (
        "cannot resolve a ticket that is submitted; allowed from: assessing, remediating, notifying"
    )
    ack(rita, number)
    assert move(rita, number, "start_assessment").status_code == 200
    skipping = move(rita, number, "start_notifying")
    assert skipping.status_code == 409
    assert "cannot start_notifying a ticket that is assessing; allowed from: remediating" in skipping.json()["detail"]

    assert fields_of(move(rita, number, "resolve")) == ["reason"]
    assert fields_of(move(rita, number, "close")) == ["close_reason"]
    assert fields_of(move(rita, number, "fly")) == ["action"]
    assert move(api("alice"), number, "resolve", reason="mine").status_code == 403
    assert move(api("bob"), number, "resolve", reason="theirs").status_code == 404

    resolved = move(rita, number, "resolve", reason="Fixed in 4.2.1.")
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "Fixed in 4.2.1.")
    assert fields_of(move(rita, number, "reopen")) == ["reason"]
    closed = move(rita, number, "close", close_reason="resolved")
    assert (closed.json()["status"], closed.json()["close_reason"]) == ("closed", "resolved")
    reopened = move(rita, number, "reopen", reason="Regression in 4.2.2.")
    assert reopened.json()["status"] == "reopened"
    assert reopened.json()["closed_at"] is None


def test_the_publisher_withdraws_its_own_ticket(api, vulnerability):
    number = file(api, vulnerability)
    assert api("rita").post(f"/tickets/{number}/withdraw", json={}).status_code == 403
    assert api("bob").post(f"/tickets/{number}/withdraw", json={}).status_code == 404
    assert move(api("alice"), number, "withdraw").status_code == 422  # not a triage step
    withdrawn = api("alice").post(f"/tickets/{number}/withdraw", json={"reason": "Reported by mistake."})
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert (body["status"], body["close_reason"]) == ("closed", "withdrawn")
    assert kinds(body)[-1] == "ticket.withdrawn"


# --- requests to the publisher -----------------------------------------------------------


def test_a_request_from_asking_to_answering(api, vulnerability):
    number = file(api, vulnerability)
    rita, alice = api("rita"), api("alice")
    ack(rita, number)
    move(rita, number, "start_assessment")
    due = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    wanted = {"kind": "modify_offer", "description": "Disable the upload endpoint.", "offer": "contoso-backup"}

    past = rita.post(f"/tickets/{number}/requests", json={**wanted, "due_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422
    assert fields_of(past) == ["due_at"]
    no_offer = rita.post(f"/tickets/{number}/requests", json={**wanted, "offer": None, "due_at": due.isoformat()})
    assert fields_of(no_offer) == ["offer"]
    assert alice.post(f"/tickets/{number}/requests", json={**wanted, "due_at": due.isoformat()}).status_code == 403
    assert api("bob").post(f"/tickets/{number}/requests", json={**wanted, "due_at": due.isoformat()}).status_code == 404

    created = rita.post(f"/tickets/{number}/requests", json={**wanted, "due_at": due.isoformat()})
    assert created.status_code == 201, created.text
    request = created.json()
    assert (request["kind"], request["status"], request["offer"]) == ("modify_offer", "open", "contoso-backup")
    assert when(request["due_at"]) == due
    ticket = alice.get(f"/tickets/{number}").json()
    assert (ticket["status"], ticket["remediation_paused"]) == ("awaiting_publisher", True)
    assert [r["id"] for r in alice.get(f"/tickets/{number}/requests").json()] == [request["id"]]
    assert api("bob").get(f"/tickets/{number}/requests").status_code == 404
    offers = {o["slug"]: o["status"] for o in alice.get("/offers").json()}
    assert offers["contoso-backup"] == "modification_requested"

    answer = f"/requests/{request['id']}/answer"
    assert rita.post(answer, json={"response": "done"}).status_code == 403
    assert api("bob").post(answer, json={"response": "done"}).status_code == 404
    assert fields_of(alice.post(answer, json={"response": "declined"})) == ["reason"]
    assert fields_of(alice.post(answer, json={"response": "extension", "reason": "Release."})) == ["proposed_due"]

    proposed = due + timedelta(days=7)
    extension = alice.post(
        answer, json={"response": "extension", "reason": "Release next week.", "proposed_due": proposed.isoformat()}
    )
    assert extension.status_code == 200, extension.text
    assert extension.json()["status"] == "extension_requested"
    assert alice.get(f"/tickets/{number}").json()["remediation_paused"] is False

    decide = f"/requests/{request['id']}/extension"
    assert alice.post(decide, json={"decision": "granted"}).status_code == 403
    assert fields_of(rita.post(decide, json={"decision": "refused"})) == ["reason"]
    granted = rita.post(decide, json={"decision": "granted"})
    assert granted.status_code == 200, granted.text
    assert (granted.json()["status"], when(granted.json()["due_at"])) == ("open", proposed)
    assert alice.get(f"/tickets/{number}").json()["remediation_paused"] is True

    done = alice.post(answer, json={"response": "done", "text": "Upload endpoint removed in 4.2.1."})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["answer"]) == ("done", "Upload endpoint removed in 4.2.1.")
    twice = alice.post(answer, json={"response": "done"})
    assert twice.status_code == 409
    assert twice.headers["Content-Type"] == PROBLEM
    assert api("alice").get(f"/tickets/{number}").json()["remediation_paused"] is False
    timeline = kinds(rita.get(f"/tickets/{number}").json())
    for kind in ("request.created", "request.extension_requested", "request.extension_granted", "request.done"):
        assert kind in timeline


# --- offer actions ------------------------------------------------------------------------


def test_offer_actions_are_for_leads_and_visible_to_the_publisher(api, vulnerability):
    number = file(api, vulnerability)
    review = (date.today() + timedelta(days=14)).isoformat()
    suspend = {"action": "suspend", "reason": "Actively exploited RCE.", "review_date": review}
    url = "/offers/contoso-backup/actions"

    assert api("rita").post(url, json=suspend).status_code == 403
    assert api("alice").post(url, json=suspend).status_code == 403
    leo = api("leo")
    incomplete = leo.post(url, json={"action": "suspend", "reason": ""})
    assert incomplete.status_code == 422
    assert sorted(fields_of(incomplete)) == ["reason", "review_date"]

    taken = leo.post(url, json={**suspend, "confirmation_number": number})
    assert taken.status_code == 201, taken.text
    action = taken.json()
    assert (action["previous_status"], action["new_status"]) == ("live", "suspended")
    assert (action["confirmation_number"], action["taken_by"]) == (number, "leo@marketplace.example")
    alice = api("alice")
    assert {o["slug"]: o["status"] for o in alice.get("/offers").json()}["contoso-backup"] == "suspended"

    history = alice.get(url)
    assert history.status_code == 200
    assert [(a["action"], a["reason"], a["review_date"]) for a in history.json()] == [
        ("suspend", "Actively exploited RCE.", review)
    ]
    assert api("bob").get(url).status_code == 404
    assert api("bob").get("/offers/fabrikam-gateway/actions").json() == []

    [message] = alice.get(f"/tickets/{number}/messages").json()
    assert message["from_marketplace"]
    assert "suspended" in message["body"]
    assert "offer.suspend" in kinds(alice.get(f"/tickets/{number}").json())

    reinstated = leo.post(url, json={"action": "reinstate", "reason": "Fixed in 4.2.1."})
    assert reinstated.status_code == 201
    assert reinstated.json()["new_status"] == "live"
    again = leo.post(url, json={"action": "reinstate", "reason": "Again."})
    assert again.status_code == 409
    assert "live" in again.json()["detail"]
    assert [a["action"] for a in alice.get(url).json()] == ["reinstate", "suspend"]  # newest first


# --- affected customers ------------------------------------------------------------------


def test_affected_customers_narrow_recount_and_export_safely(api, vulnerability):
    from secdesk.marketplace.models import Customer, CustomerContact, Deployment, Plan

    standard = Plan.objects.select_related("offer").get(offer__slug="contoso-backup", slug="standard")
    evil = Customer.objects.create(name='=HYPERLINK("http://evil.example","x")', slug="evil", tenant_id="@tenant")
    CustomerContact.objects.create(customer=evil, email="a@evil.example", name="+Alpha", language="de")
    CustomerContact.objects.create(customer=evil, email="b@evil.example", name="Beta")
    Deployment.objects.create(customer=evil, offer=standard.offer, plan=standard, version=standard.version)
    number = file(api, vulnerability)
    rita = api("rita")

    everyone = rita.get(f"/tickets/{number}/affected-customers")
    assert everyone.status_code == 200, everyone.text
    assert everyone.json()["count"] == deployment_customers("contoso-backup") == 5

    narrowed = rita.put(f"/tickets/{number}/affected", json={"plans": ["contoso-backup/standard"]})
    assert narrowed.status_code == 200, narrowed.text
    on_standard = {d.customer_id for d in Deployment.objects.filter(plan=standard)}
    assert narrowed.json()["affected_customers"] == len(on_standard) == 3
    listing = rita.get(f"/tickets/{number}/affected-customers").json()
    assert listing["count"] == 3
    assert {c["slug"] for c in listing["customers"]} == set(
        Customer.objects.filter(pk__in=on_standard).values_list("slug", flat=True)
    )
    bad = rita.put(f"/tickets/{number}/affected", json={"plans": ["fabrikam-gateway/basic"]})
    assert fields_of(bad) == ["plans.0"]

    assert api("audrey").get(f"/tickets/{number}/affected-customers").status_code == 200
    assert api("alice").get(f"/tickets/{number}/affected-customers").status_code == 403
    assert api("alice").get(f"/tickets/{number}/affected-customers.csv").status_code == 403
    assert api("alice").put(f"/tickets/{number}/affected", json={"plans": []}).status_code == 403
    assert api("bob").get(f"/tickets/{number}/affected-customers").status_code == 404
    assert api("bob").get(f"/tickets/{number}/affected-customers.csv").status_code == 404

    exported = rita.get(f"/tickets/{number}/affected-customers.csv")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert exported.headers["Content-Disposition"] == f'attachment; filename="{number}-affected-customers.csv"'
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["customer", "customer_name", "tenant_id", "contact_name", "contact_email", "language"]
    contacts = CustomerContact.objects.filter(customer_id__in=on_standard)
    assert len(rows) - 1 == contacts.count() == 4
    assert sorted(r[4] for r in rows[1:]) == sorted(c.email for c in contacts)
    evil_rows = [r for r in rows[1:] if r[0] == "evil"]
    assert len(evil_rows) == 2
    for row in evil_rows:
        assert row[1] == "'" + evil.name
        assert row[2] == "'@tenant"
    assert {r[3] for r in evil_rows} == {"'+Alpha", "Beta"}
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)
