"""Customer notices through the live API: co-editing, versions and diff, approvals, audience, isolation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

PROBLEM = "application/problem+json"


def file_ticket(client, vulnerability) -> str:
    response = client.post("/tickets", json={**vulnerability, "submit": True})
    assert response.status_code == 201, response.text
    return response.json()["confirmation_number"]


def expected_emails(offer_slug: str) -> set[str]:
    """The audience worked out independently: every contact of every customer running the offer."""
    from secdesk.marketplace.models import CustomerContact, Deployment

    customer_ids = {d.customer_id for d in Deployment.objects.filter(offer__slug=offer_slug)}
    return {c.email for c in CustomerContact.objects.all() if c.customer_id in customer_ids}


def notice_kinds(client, number: str) -> list[str]:
    response = client.get(f"/tickets/{number}")
    assert response.status_code == 200, response.text
    return [e["kind"] for e in response.json()["timeline"] if e["kind"].startswith("notice.")]


@pytest.fixture
def number(api, vulnerability) -> str:
    return file_ticket(api("alice"), vulnerability)


def test_co_edit_approve_and_fix_the_audience(api, number):
    alice, rita, leo = api("alice"), api("rita"), api("leo")

    started = alice.post(f"/tickets/{number}/notice")
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["subject"] == f"Security notice {number}: Contoso Backup"
    assert body["body"] == "Please disable uploads."
    assert body["approvals"] == {"publisher": None, "marketplace": None}
    assert body["recipients"] == {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "bounced": 0}
    again = rita.post(f"/tickets/{number}/notice")
    assert again.status_code == 200
    assert again.json()["version"] == 1

    # Rita and Alice both have version 1 open; Rita saves first.
    edited = rita.put(
        f"/tickets/{number}/notice",
        json={"subject": "Contoso Backup: disable uploads", "body": "Please disable uploads now.", "base_version": 1},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    assert edited.json()["author"] == "Rita Responder"
    stale = alice.put(f"/tickets/{number}/notice", json={"subject": "Mine", "body": "Alice's text", "base_version": 1})
    assert stale.status_code == 409
    assert stale.headers["Content-Type"] == PROBLEM
    assert stale.json()["detail"] == "the notice changed since you loaded it; version 2 is current"
    edited = alice.put(
        f"/tickets/{number}/notice",
        json={
            "subject": "Contoso Backup: disable uploads",
            "body": "Please disable uploads now.\n\nUpgrade to **4.2.1**.",
            "base_version": 2,
        },
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 3
    assert edited.json()["body"] == "Please disable uploads now.\n\nUpgrade to **4.2.1**."  # raw Markdown

    versions = alice.get(f"/tickets/{number}/notice/versions")
    assert versions.status_code == 200
    assert [(v["number"], v["base_version"], v["author"]) for v in versions.json()] == [
        (1, None, "Alice Contoso"),
        (2, 1, "Rita Responder"),
        (3, 2, "Alice Contoso"),
    ]
    diff = rita.get(f"/tickets/{number}/notice/diff", params={"from": 1, "to": 2})
    assert diff.status_code == 200, diff.text
    lines = diff.json()["diff"].splitlines()
    assert lines[:2] == ["--- version 1", "+++ version 2"]
    assert f"-Subject: Security notice {number}: Contoso Backup" in lines
    assert "+Subject: Contoso Backup: disable uploads" in lines
    assert "-Please disable uploads." in lines
    assert "+Please disable uploads now." in lines

    # A responder drafts but does not approve; a non-current version is refused.
    assert rita.post(f"/tickets/{number}/notice/approve", json={"version": 3}).status_code == 403
    assert alice.post(f"/tickets/{number}/notice/approve", json={"version": 2}).status_code == 409

    approved = alice.post(f"/tickets/{number}/notice/approve", json={"version": 3})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "draft"
    assert approved.json()["approvals"]["publisher"]["by"] == "Alice Contoso"
    assert approved.json()["approvals"]["marketplace"] is None

    approved = leo.post(f"/tickets/{number}/notice/approve", json={"version": 3})
    assert approved.status_code == 200, approved.text
    shown = approved.json()
    expected = expected_emails("contoso-backup")
    assert shown["status"] == "approved"
    assert shown["approved_at"] is not None
    assert shown["approvals"]["marketplace"]["by"] == "Leo Lead"
    assert shown["recipients"] == {"pending": len(expected), "sending": 0, "sent": 0, "failed": 0, "bounced": 0}

    recipients = rita.get(f"/tickets/{number}/notice/recipients")
    assert recipients.status_code == 200, recipients.text
    items = recipients.json()["items"]
    assert {r["email"] for r in items} == expected
    assert {r["status"] for r in items} == {"pending"}
    assert recipients.json()["next_after"] is None
    paged = rita.get(f"/tickets/{number}/notice/recipients", params={"limit": 1})
    assert len(paged.json()["items"]) == 1
    assert paged.json()["next_after"] == paged.json()["items"][0]["id"]
    assert rita.get(f"/tickets/{number}/notice/recipients", params={"status": "sent"}).json()["items"] == []
    assert alice.get(f"/tickets/{number}/notice/recipients").status_code == 403

    late = rita.put(f"/tickets/{number}/notice", json={"subject": "Late", "body": "Too late", "base_version": 3})
    assert late.status_code == 409
    assert alice.get(f"/tickets/{number}/notice").json()["version"] == 3

    assert notice_kinds(alice, number) == [
        "notice.started",
        "notice.edited",
        "notice.edited",
        "notice.approval_given",
        "notice.approval_given",
        "notice.approved",
    ]


def test_an_edit_clears_the_approvals(api, number):
    alice, rita, leo = api("alice"), api("rita"), api("leo")
    assert alice.post(f"/tickets/{number}/notice").status_code == 201
    assert leo.post(f"/tickets/{number}/notice/approve", json={"version": 1}).json()["approvals"]["marketplace"]
    edited = rita.put(f"/tickets/{number}/notice", json={"subject": "S", "body": "B", "base_version": 1})
    assert edited.status_code == 200
    assert edited.json()["approvals"] == {"publisher": None, "marketplace": None}
    approved = alice.post(f"/tickets/{number}/notice/approve", json={"version": 2})
    assert approved.json()["status"] == "draft"
    assert approved.json()["recipients"]["pending"] == 0


def test_another_publisher_gets_404_on_every_notice_route(api, number):
    assert api("alice").post(f"/tickets/{number}/notice").status_code == 201
    bob = api("bob")
    calls = [
        ("post", "/notice", {}),
        ("get", "/notice", {}),
        ("put", "/notice", {"json": {"subject": "S", "body": "B", "base_version": 1}}),
        ("get", "/notice/versions", {}),
        ("get", "/notice/diff", {"params": {"from": 1, "to": 1}}),
        ("post", "/notice/approve", {"json": {"version": 1}}),
        ("get", "/notice/recipients", {}),
    ]
    for method, suffix, kwargs in calls:
        foreign = getattr(bob, method)(f"/tickets/{number}{suffix}", **kwargs)
        missing = getattr(bob, method)(f"/tickets/SEC-0000-0000-0{suffix}", **kwargs)
        assert foreign.status_code == missing.status_code == 404, (method, suffix, foreign.text)
        assert foreign.json()["detail"] == missing.json()["detail"]
        assert foreign.headers["Content-Type"] == PROBLEM
    assert api("alice").get(f"/tickets/{number}/notice").json()["version"] == 1
    assert api(None).get(f"/tickets/{number}/notice").status_code == 401


def test_no_notice_yet_is_404_and_drafts_have_none(api, vulnerability):
    alice = api("alice")
    draft = alice.post("/tickets", json=vulnerability)
    assert draft.status_code == 201
    draft_number = draft.json()["confirmation_number"]
    assert alice.get(f"/tickets/{draft_number}/notice").status_code == 404
    refused = alice.post(f"/tickets/{draft_number}/notice")
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == PROBLEM


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subject": "S", "body": "B", "base_version": 1, "status": "approved"}, "status"),
        ({"subject": "x" * 201, "body": "B", "base_version": 1}, "subject"),
        ({"subject": "S", "body": "x" * 50_001, "base_version": 1}, "body"),
        ({"subject": "S", "body": "B"}, "base_version"),
        ({"subject": "S", "body": "B", "base_version": 0}, "base_version"),
        ({"subject": "Two\nlines", "body": "B", "base_version": 1}, "subject"),
    ],
)
def test_edit_input_is_strict(api, number, payload, field):
    alice = api("alice")
    assert alice.post(f"/tickets/{number}/notice").status_code == 201
    response = alice.put(f"/tickets/{number}/notice", json=payload)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == PROBLEM
    assert field in [e["field"] for e in response.json()["errors"]]
    assert alice.get(f"/tickets/{number}/notice").json()["version"] == 1


def test_approve_and_diff_input(api, number):
    alice = api("alice")
    assert alice.post(f"/tickets/{number}/notice").status_code == 201
    extra = alice.post(f"/tickets/{number}/notice/approve", json={"version": 1, "side": "marketplace"})
    assert extra.status_code == 422
    unknown = alice.post(f"/tickets/{number}/notice/approve", json={"version": 7})
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["version"]
    bad_diff = alice.get(f"/tickets/{number}/notice/diff", params={"from": 1, "to": 4})
    assert bad_diff.status_code == 422
    assert [e["field"] for e in bad_diff.json()["errors"]] == ["to"]
    assert alice.get(f"/tickets/{number}/notice/diff", params={"from": 1}).status_code == 422
    assert alice.get(f"/tickets/{number}/notice").json()["approvals"]["publisher"] is None
