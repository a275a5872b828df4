"""Tickets through the live API: intake, scoring, confirmation numbers, progress, listing, offers."""

from __future__ import annotations

import re
import socket
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.servers import basehttp

from secdesk.domain import confirmation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_nagle(monkeypatch):
    """Answer without the 40 ms Nagle/delayed-ACK stall of the test server (headers and body are sent apart).

    Imported by the other live-server test modules; ~50 ms → ~2 ms per request.
    """
    setup = basehttp.WSGIRequestHandler.setup

    def setup_without_nagle(handler) -> None:
        handler.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        setup(handler)

    monkeypatch.setattr(basehttp.WSGIRequestHandler, "setup", setup_without_nagle)


V31_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V40_CRITICAL = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
V31_MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"
NUMBER_RE = re.compile(r"^SEC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U]$")


def fields_of(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def ticket_count() -> int:
    from secdesk.tickets.models import Ticket

    return Ticket.objects.count()


# --- intake -----------------------------------------------------------------


def test_draft_is_saved_edited_and_submitted_later(api):
    alice = api("alice")
    created = alice.post("/tickets", json={"category": "vulnerability", "offers": ["contoso-vault"]})
    assert created.status_code == 201, created.text
    draft = created.json()
    number = draft["confirmation_number"]
    assert draft["status"] == "draft"
    assert draft["submitted_at"] is None
    assert draft["acknowledgement_due"] is None
    assert draft["description"] == ""
    assert [e["kind"] for e in draft["timeline"]] == ["ticket.created"]

    edited = alice.patch(
        f"/tickets/{number}",
        json={
            "description": "SQL injection in the search box.",
            "cve_ids": [" cve-2026-1234 "],
            "mitigation": "fix_available",
            "remediation_steps": "Upgrade to 2.1.4.",
        },
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["status"] == "draft"
    assert body["description"] == "SQL injection in the search box."
    assert body["cve_ids"] == ["CVE-2026-1234"]
    assert body["offers"] == ["contoso-vault"]  # untouched field kept
    assert body["mitigation"] == "fix_available"

    submitted = alice.post(f"/tickets/{number}/submit")
    assert submitted.status_code == 200, submitted.text
    done = submitted.json()
    assert done["status"] == "submitted"
    assert done["submitted_at"] is not None
    assert done["acknowledgement_due"] is not None
    assert [e["kind"] for e in done["timeline"]] == ["ticket.created", "ticket.draft_updated", "ticket.submitted"]

    # A submitted ticket is no longer a draft: neither edit nor submit again.
    again = alice.post(f"/tickets/{number}/submit")
    assert again.status_code == 409
    assert again.headers["Content-Type"] == "application/problem+json"
    assert alice.patch(f"/tickets/{number}", json={"description": "changed"}).status_code == 409
    assert alice.get(f"/tickets/{number}").json()["description"] == "SQL injection in the search box."


def test_submitting_an_incomplete_draft_reports_every_missing_answer_at_once(api):
    alice = api("alice")
    number = alice.post("/tickets", json={"category": "vulnerability"}).json()["confirmation_number"]
    response = alice.post(f"/tickets/{number}/submit")
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem["type"] == "urn:secdesk:problem:invalid-input"
    assert sorted(fields_of(response)) == ["cvss_vectors", "description", "mitigation", "offers"]
    assert {e["code"] for e in problem["errors"]} == {"required"}
    assert alice.get(f"/tickets/{number}").json()["status"] == "draft"


def test_submit_at_once_with_missing_answers_creates_nothing(api):
    alice = api("alice")
    before = ticket_count()
    response = alice.post(
        "/tickets",
        json={"category": "vulnerability", "offers": ["contoso-backup"], "mitigation": "workaround", "submit": True},
    )
    assert response.status_code == 422
    assert sorted(fields_of(response)) == ["cvss_vectors", "description", "remediation_steps"]
    assert ticket_count() == before


# Table-driven rather than parametrised: each live-server test pays for a fresh database and demo data.
SUBMISSION_RULES = [
    ({"category": "bug"}, ["category"]),
    ({"mitigation": "maybe"}, ["mitigation"]),
    ({"description": "   "}, ["description"]),
    ({"mitigation": "workaround", "remediation_steps": ""}, ["remediation_steps"]),
    ({"mitigation": "fix_available", "remediation_steps": " \n "}, ["remediation_steps"]),
    ({"cvss_vectors": [], "cve_ids": []}, ["cvss_vectors"]),
    ({"offers": []}, ["offers"]),
    ({"problem_type": "outage"}, ["problem_type"]),
]
OPTIONAL_ANSWERS = [
    {"mitigation": "none", "remediation_steps": ""},  # steps only needed for a workaround or fix
    {"cvss_vectors": []},  # a CVE id alone is enough
    {"cve_ids": []},  # a CVSS vector alone is enough
    {"cwe_ids": []},  # CWE is optional
    {"customer_message": ""},  # the customer message is optional
]


def test_submission_rules(api, vulnerability):
    alice = api("alice")
    before = ticket_count()
    for changes, expected_fields in SUBMISSION_RULES:
        response = alice.post("/tickets", json={**vulnerability, **changes, "submit": True})
        assert response.status_code == 422, (changes, response.text)
        assert sorted(fields_of(response)) == expected_fields, changes
    assert ticket_count() == before


def test_optional_answers(api, vulnerability):
    alice = api("alice")
    for changes in OPTIONAL_ANSWERS:
        response = alice.post("/tickets", json={**vulnerability, **changes, "submit": True})
        assert response.status_code == 201, (changes, response.text)
        assert response.json()["status"] == "submitted"
    assert ticket_count() == len(OPTIONAL_ANSWERS)


def test_security_incident_needs_no_scores(api):
    response = api("alice").post(
        "/tickets",
        json={
            "category": "security_incident",
            "offers": ["contoso-backup", "contoso-vault"],
            "description": "Our signing key leaked.",
            "mitigation": "none",
            "submit": True,
        },
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["category"] == "security_incident"
    assert ticket["problem_type"] == "security_incident"
    assert ticket["offers"] == ["contoso-backup", "contoso-vault"]
    assert ticket["cvss"] == []
    assert ticket["suggested_severity"] is None
    assert ticket["organization"] == "contoso"


def test_foreign_offer_is_answered_exactly_like_an_unknown_one(api, vulnerability):
    alice = api("alice")
    before = ticket_count()
    foreign = alice.post("/tickets", json={**vulnerability, "offers": ["fabrikam-gateway"], "submit": True})
    unknown = alice.post("/tickets", json={**vulnerability, "offers": ["nowhere-gateway"], "submit": True})
    assert foreign.status_code == unknown.status_code == 422
    f_err, u_err = foreign.json()["errors"], unknown.json()["errors"]
    assert [e["field"] for e in f_err] == [e["field"] for e in u_err] == ["offers.0"]
    assert f_err[0]["code"] == u_err[0]["code"] == "unknown_offer"
    assert f_err[0]["message"].replace("fabrikam-gateway", "X") == u_err[0]["message"].replace("nowhere-gateway", "X")
    # Drafts too, and editing a draft.
    assert alice.post("/tickets", json={"category": "vulnerability", "offers": ["fabrikam-gateway"]}).status_code == 422
    assert ticket_count() == before
    number = alice.post("/tickets", json={"category": "vulnerability"}).json()["confirmation_number"]
    patched = alice.patch(f"/tickets/{number}", json={"offers": ["contoso-backup", "fabrikam-monitor"]})
    assert patched.status_code == 422
    assert fields_of(patched) == ["offers.1"]


# --- scoring ------------------------------------------------------------------


#: (vector, metric at fault, part of the explanation)
BAD_VECTORS = [
    ("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV", "more than once"),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "A", "missing: A"),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H", "S", "missing: S"),
    ("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV", "not allowed for metric AV"),
    ("CVSS:3.1/AV:N/ac:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "ac", "upper case"),
    ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:h/I:H/A:H", "C", "wrong letter case"),
    ("CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "AV", "out of order"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", "SA", "missing: SA"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/XX:Y", "XX", "unknown metric"),
]


def test_invalid_cvss_vector_names_the_metric(api, vulnerability):
    alice = api("alice")
    before = ticket_count()
    for vector, metric, explanation in BAD_VECTORS:
        response = alice.post(
            "/tickets", json={**vulnerability, "cvss_vectors": [V31_CRITICAL, vector], "submit": True}
        )
        assert response.status_code == 422, (vector, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        [error] = response.json()["errors"]
        assert error["field"] == "cvss_vectors.1", vector
        assert error["metric"] == metric, vector
        assert error["code"] == "invalid_cvss", vector
        assert explanation in error["message"], vector
    assert ticket_count() == before


def test_cvss_vector_with_trailing_slash_is_refused(api, vulnerability):
    response = api("alice").post("/tickets", json={**vulnerability, "cvss_vectors": [V31_CRITICAL + "/"]})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "cvss_vectors.0"
    assert error["code"] == "invalid_cvss"
    assert "ends with '/'" in error["message"]


def test_every_bad_vector_is_reported_with_its_index(api, vulnerability):
    response = api("alice").post(
        "/tickets",
        json={
            **vulnerability,
            "cvss_vectors": [
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
                V31_CRITICAL,
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Z",
            ],
            "cve_ids": ["CVE-26-1"],
            "cwe_ids": ["CWE-abc"],
        },
    )
    assert response.status_code == 422
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert sorted(errors) == ["cve_ids.0", "cvss_vectors.0", "cvss_vectors.2", "cwe_ids.0"]
    assert errors["cvss_vectors.0"]["metric"] == "A"
    assert errors["cvss_vectors.2"]["metric"] == "A"
    assert errors["cve_ids.0"]["code"] == "invalid_cve"
    assert errors["cwe_ids.0"]["code"] == "invalid_cwe"


def test_scores_are_computed_and_the_highest_suggests_the_severity(api, vulnerability):
    response = api("alice").post(
        "/tickets",
        json={
            **vulnerability,
            "cvss_vectors": [V31_MEDIUM, V40_CRITICAL, V31_CRITICAL],
            "cve_ids": [" cve-2026-1234 ", "CVE-2026-1234", "cve-2025-123456"],
            "cwe_ids": ["cwe-079", "CWE-352"],
            "submit": True,
        },
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["cvss"] == [
        {"vector": V31_MEDIUM, "version": "3.1", "base_score": 5.3, "severity": "medium"},
        {"vector": V40_CRITICAL, "version": "4.0", "base_score": 9.3, "severity": "critical"},
        {"vector": V31_CRITICAL, "version": "3.1", "base_score": 9.8, "severity": "critical"},
    ]
    assert ticket["suggested_severity"] == "critical"
    assert ticket["cve_ids"] == ["CVE-2026-1234", "CVE-2025-123456"]
    assert ticket["cwe_ids"] == ["CWE-79", "CWE-352"]
    assert ticket["severity"] is None  # set by a responder, not by the reporter


def test_suggested_severity_follows_the_highest_score(api, vulnerability):
    response = api("alice").post("/tickets", json={**vulnerability, "cvss_vectors": [V31_MEDIUM], "submit": True})
    assert response.status_code == 201
    assert response.json()["suggested_severity"] == "medium"
    assert response.json()["cvss"][0]["base_score"] == 5.3


# --- confirmation numbers --------------------------------------------------------


def _typo(number: str) -> str:
    """The number with one payload symbol replaced by another valid symbol."""
    position = 5  # the second symbol of the first group
    replacement = "7" if number[position] != "7" else "8"
    return number[:position] + replacement + number[position + 1 :]


def test_confirmation_numbers_are_unique_forgiving_and_typo_proof(api, vulnerability):
    alice = api("alice")
    numbers = [alice.post("/tickets", json=vulnerability).json()["confirmation_number"] for _ in range(5)]
    assert len(set(numbers)) == 5
    for number in numbers:
        assert NUMBER_RE.match(number), number
        assert confirmation.normalise(number) == number

    number = numbers[0]
    for spelling in (number.lower(), number.replace("-", ""), number.replace("-", " "), f" {number.lower()} "):
        shown = alice.get(f"/tickets/{spelling}")
        assert shown.status_code == 200, spelling
        assert shown.json()["confirmation_number"] == number

    typo = _typo(number)
    assert typo != number
    missing = alice.get("/tickets/SEC-0000-0000-0")
    mistyped = alice.get(f"/tickets/{typo}")
    garbage = alice.get("/tickets/not-a-number")
    assert missing.status_code == mistyped.status_code == garbage.status_code == 404
    assert missing.json()["detail"] == mistyped.json()["detail"] == garbage.json()["detail"]
    assert mistyped.headers["Content-Type"] == "application/problem+json"


# --- progress ----------------------------------------------------------------------


def test_progress_shows_status_timeline_and_acknowledgement_due_in_the_configured_calendar(
    api, vulnerability, settings, monkeypatch
):
    from django.utils import timezone as django_timezone

    # Wednesday before Thanksgiving, 16:00 in New York: Thursday is a US public holiday,
    # so one business day later is Friday 16:00.
    submitted = datetime(2026, 11, 25, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    settings.CALENDAR = {"timezone": "America/New_York", "country": "US", "subdivision": None, "hours": "09:00-17:00"}
    monkeypatch.setattr(django_timezone, "now", lambda: submitted.astimezone(ZoneInfo("UTC")))

    alice = api("alice")
    response = alice.post("/tickets", json={**vulnerability, "submit": True})
    assert response.status_code == 201, response.text
    number = response.json()["confirmation_number"]
    monkeypatch.undo()

    ticket = alice.get(f"/tickets/{number}").json()
    assert ticket["status"] == "submitted"
    assert datetime.fromisoformat(ticket["submitted_at"]) == submitted
    due = datetime.fromisoformat(ticket["acknowledgement_due"])
    assert due == datetime(2026, 11, 27, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    assert [e["kind"] for e in ticket["timeline"]] == ["ticket.created", "ticket.submitted"]
    submitted_event = ticket["timeline"][1]
    assert submitted_event["actor"] == "alice@contoso.example"
    assert submitted_event["data"]["confirmation_number"] == number
    assert datetime.fromisoformat(submitted_event["data"]["acknowledgement_due"]) == due


def test_acknowledgement_due_friday_afternoon_is_monday_afternoon_on_the_default_calendar(
    api, vulnerability, settings, monkeypatch
):
    from django.utils import timezone as django_timezone

    settings.CALENDAR = {"timezone": "UTC", "country": None, "subdivision": None, "hours": "09:00-17:00"}
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=ZoneInfo("UTC"))
    monkeypatch.setattr(django_timezone, "now", lambda: friday)
    response = api("alice").post("/tickets", json={**vulnerability, "submit": True})
    monkeypatch.undo()
    assert response.status_code == 201
    due = datetime.fromisoformat(response.json()["acknowledgement_due"])
    assert due == datetime(2026, 3, 9, 16, tzinfo=ZoneInfo("UTC"))


def test_times_are_shown_in_the_callers_timezone(api, world, vulnerability):
    world.users["alice"].timezone = "Asia/Tokyo"
    world.users["alice"].save(update_fields=["timezone"])
    ticket = api("alice").post("/tickets", json={**vulnerability, "submit": True}).json()
    assert ticket["created_at"].endswith("+09:00")
    assert ticket["acknowledgement_due"].endswith("+09:00")
    staff_view = api("rita").get(f"/tickets/{ticket['confirmation_number']}").json()
    assert staff_view["acknowledgement_due"].endswith(("Z", "+00:00"))
    assert datetime.fromisoformat(staff_view["acknowledgement_due"]) == datetime.fromisoformat(
        ticket["acknowledgement_due"]
    )


# --- listing --------------------------------------------------------------------------


def _file(world, name: str, *, submit: bool, **answers) -> str:
    from secdesk.domain.intake import Answers
    from secdesk.tickets import services

    defaults = {
        "category": "vulnerability",
        "offers": ("contoso-backup",) if name == "alice" else ("fabrikam-gateway",),
        "description": "issue",
        "cve_ids": ("CVE-2026-0001",),
        "mitigation": "none",
    }
    defaults.update(answers)
    ticket, _ = services.create_ticket(world.actor(name), answers=Answers(**defaults), submit=submit)
    return ticket.confirmation_number


def test_listing_is_scoped_paginated_and_filtered(api, world):
    from secdesk.tickets.models import Ticket

    alice_numbers = [_file(world, "alice", submit=i % 3 != 0) for i in range(7)]
    incident = _file(world, "alice", submit=True, category="security_incident", cve_ids=())
    alice_numbers.append(incident)
    bob_numbers = [_file(world, "bob", submit=True) for _ in range(2)]
    Ticket.objects.filter(confirmation_number=alice_numbers[1]).update(severity="high")

    alice = api("alice")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = alice.get("/tickets", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 3
        seen.extend(item["confirmation_number"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 8
    assert seen == list(reversed(alice_numbers))  # newest first, nothing skipped or repeated
    assert not set(seen) & set(bob_numbers)

    def numbers(**params) -> list[str]:
        response = alice.get("/tickets", params=params)
        assert response.status_code == 200, response.text
        return [item["confirmation_number"] for item in response.json()["items"]]

    drafts = numbers(status="draft")
    assert sorted(drafts) == sorted(alice_numbers[i] for i in (0, 3, 6))
    assert len(numbers(status="submitted")) == 5
    assert numbers(category="security_incident") == [incident]
    assert numbers(severity="high") == [alice_numbers[1]]
    assert numbers(severity="critical") == []
    assert numbers(status="submitted", category="vulnerability", limit=2) == [alice_numbers[5], alice_numbers[4]]

    bob = api("bob")
    bob_seen = [item["confirmation_number"] for item in bob.get("/tickets").json()["items"]]
    assert sorted(bob_seen) == sorted(bob_numbers)


def test_listing_refuses_a_bad_cursor_and_limit(api, world):
    alice = api("alice")
    for cursor in ("garbage!!", "eDox", "dDphYmM"):  # not base64 / wrong kind "x:1" / "t:abc"
        response = alice.get("/tickets", params={"cursor": cursor})
        assert response.status_code == 422, cursor
        assert response.headers["Content-Type"] == "application/problem+json"
        assert fields_of(response) == ["cursor"]
    for limit in (0, 101, "many"):
        response = alice.get("/tickets", params={"limit": limit})
        assert response.status_code == 422, limit
        assert fields_of(response) == ["limit"]


def test_staff_see_submitted_tickets_of_every_organisation_but_no_drafts(api, world):
    alice_draft = _file(world, "alice", submit=False)
    alice_submitted = _file(world, "alice", submit=True)
    bob_submitted = _file(world, "bob", submit=True)

    for staff in ("rita", "audrey"):
        client = api(staff)
        listed = {item["confirmation_number"] for item in client.get("/tickets").json()["items"]}
        assert listed == {alice_submitted, bob_submitted}, staff
        assert client.get(f"/tickets/{alice_draft}").status_code == 404
        assert client.get(f"/tickets/{bob_submitted}").status_code == 200

    bob = api("bob")
    assert bob.get(f"/tickets/{alice_submitted}").status_code == 404
    assert bob.get(f"/tickets/{alice_draft}").status_code == 404
    assert bob.patch(f"/tickets/{alice_draft}", json={"description": "x"}).status_code == 404
    assert bob.post(f"/tickets/{alice_draft}/submit").status_code == 404
    assert {item["confirmation_number"] for item in bob.get("/tickets").json()["items"]} == {bob_submitted}


def test_staff_cannot_file_edit_or_submit_for_a_publisher(api, world, vulnerability):
    rita = api("rita")
    before = ticket_count()
    assert rita.post("/tickets", json=vulnerability).status_code == 403
    assert ticket_count() == before
    submitted = _file(world, "alice", submit=True)
    assert rita.patch(f"/tickets/{submitted}", json={"description": "x"}).status_code == 403
    assert rita.post(f"/tickets/{submitted}/submit").status_code == 403


def test_read_scoped_token_reads_but_changes_nothing(api, world, vulnerability):
    draft = _file(world, "alice", submit=False)
    reader = api("alice", scope="read")
    assert reader.get(f"/tickets/{draft}").status_code == 200
    assert reader.get("/tickets").json()["items"][0]["confirmation_number"] == draft
    before = ticket_count()
    assert reader.post("/tickets", json=vulnerability).status_code == 403
    assert reader.patch(f"/tickets/{draft}", json={"description": "changed"}).status_code == 403
    assert reader.post(f"/tickets/{draft}/submit").status_code == 403
    assert ticket_count() == before
    assert reader.get(f"/tickets/{draft}").json()["status"] == "draft"


# --- offers ------------------------------------------------------------------------------


def test_offers_are_scoped_to_the_callers_organisation(api, world):
    alice = api("alice").get("/offers")
    assert alice.status_code == 200
    offers = alice.json()
    assert [o["slug"] for o in offers] == ["contoso-backup", "contoso-vault"]
    assert {o["organization"] for o in offers} == {"contoso"}
    backup = offers[0]
    assert backup["name"] == "Contoso Backup"
    assert backup["plans"] == [
        {"slug": "enterprise", "name": "Enterprise", "version": "4.3"},
        {"slug": "standard", "name": "Standard", "version": "4.2"},
    ]
    assert [p["slug"] for p in offers[1]["plans"]] == ["business", "team"]

    assert [o["slug"] for o in api("bob").get("/offers").json()] == ["fabrikam-gateway", "fabrikam-monitor"]
    assert [o["slug"] for o in api("rita").get("/offers").json()] == [
        "contoso-backup",
        "contoso-vault",
        "fabrikam-gateway",
        "fabrikam-monitor",
    ]
    assert api(None).get("/offers").status_code == 401
