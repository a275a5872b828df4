"""The API through a live server: file a ticket and follow it."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_publisher_files_and_follows_a_vulnerability(api, vulnerability):
    alice = api("alice")
    response = alice.post("/tickets", json={**vulnerability, "submit": True})
    assert response.status_code == 201, response.text
    ticket = response.json()
    number = ticket["confirmation_number"]
    assert number.startswith("SEC-")
    assert ticket["status"] == "submitted"
    assert ticket["cvss"] == [
        {
            "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "version": "3.1",
            "base_score": 9.8,
            "severity": "critical",
        }
    ]
    assert ticket["suggested_severity"] == "critical"
    assert [e["kind"] for e in ticket["timeline"]] == ["ticket.created", "ticket.submitted"]

    shown = alice.get(f"/tickets/{number.lower().replace('-', ' ')}")
    assert shown.status_code == 200
    assert shown.json()["confirmation_number"] == number

    bob = api("bob")
    foreign = bob.get(f"/tickets/{number}")
    missing = bob.get("/tickets/SEC-0000-0000-0")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"] == missing.json()["detail"]
    assert foreign.headers["Content-Type"] == "application/problem+json"
