"""Bad input and bad credentials through the live API: RFC 9457 answers, and nothing half-written."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from tests.http.test_api_tickets import no_nagle  # noqa: F401 — autouse fixture: a fast live server

pytestmark = pytest.mark.django_db(transaction=True)

PROBLEM = "application/problem+json"


def counts() -> tuple[int, int, int]:
    from secdesk.tickets.models import Message, Ticket, TimelineEvent

    return Ticket.objects.count(), TimelineEvent.objects.count(), Message.objects.count()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert "Traceback" not in response.text
    return body


# --- malformed bodies ----------------------------------------------------------------


def test_unknown_json_fields_are_refused(api, vulnerability):
    alice = api("alice")
    before = counts()
    body = assert_problem(alice.post("/tickets", json={**vulnerability, "severity": "low"}), 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("severity", "extra_forbidden")]
    number = alice.post("/tickets", json={"category": "vulnerability"}).json()["confirmation_number"]
    patched = assert_problem(alice.patch(f"/tickets/{number}", json={"status": "closed"}), 422)
    assert [e["field"] for e in patched["errors"]] == ["status"]
    assert counts()[0] == before[0] + 1
    assert alice.get(f"/tickets/{number}").json()["status"] == "draft"


def test_wrongly_typed_fields_are_refused_with_their_names(api, vulnerability):
    body = assert_problem(
        api("alice").post("/tickets", json={**vulnerability, "offers": "contoso-backup", "submit": "perhaps"}), 422
    )
    assert sorted(e["field"] for e in body["errors"]) == ["offers", "submit"]


# Table-driven rather than parametrised: each live-server test pays for a fresh database and demo data.
MALFORMED_BODIES = [
    b'{"category": "vulnerability", "description": "\xff\xfe broken"}',
    b"\xc3\x28",
    b'{"category": ',
    b"not json at all",
]


def test_malformed_or_invalid_utf8_body_is_a_bad_request(api):
    alice = api("alice")
    before = counts()
    for raw in MALFORMED_BODIES:
        response = alice.post("/tickets", data=raw, headers={"Content-Type": "application/json"})
        body = assert_problem(response, 400)
        assert body["type"] == "urn:secdesk:problem:malformed", raw
    assert counts() == before


def test_non_object_json_is_refused(api):
    alice = api("alice")
    before = counts()
    for payload in ([1, 2], [{"category": "vulnerability"}], "vulnerability", 42, True, None):
        response = alice.post("/tickets", data=json.dumps(payload), headers={"Content-Type": "application/json"})
        body = assert_problem(response, 422)
        assert [e["field"] for e in body["errors"]] == ["body"], payload
    assert counts() == before


def test_body_larger_than_the_limit_is_413(api, vulnerability, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    before = counts()
    big = {**vulnerability, "description": "x" * 5000}
    body = assert_problem(api("alice").post("/tickets", json=big), 413)
    assert "too large" in body["detail"]
    assert counts() == before
    # Just under the limit is fine.
    fits = {**vulnerability, "description": "x" * 1000}
    assert api("alice").post("/tickets", json=fits).status_code == 201


def test_overlong_text_is_a_field_error(api, vulnerability, settings):
    settings.MAX_TEXT_CHARS = 100
    alice = api("alice")
    before = counts()
    body = assert_problem(
        alice.post(
            "/tickets",
            json={**vulnerability, "description": "d" * 101, "remediation_steps": "r" * 101, "customer_message": "ok"},
        ),
        422,
    )
    assert sorted((e["field"], e["code"]) for e in body["errors"]) == [
        ("description", "too_long"),
        ("remediation_steps", "too_long"),
    ]
    assert counts() == before
    assert alice.post("/tickets", json={**vulnerability, "description": "d" * 100}).status_code == 201
    number = alice.post("/tickets", json={"category": "vulnerability"}).json()["confirmation_number"]
    patched = assert_problem(alice.patch(f"/tickets/{number}", json={"customer_message": "c" * 101}), 422)
    assert [e["field"] for e in patched["errors"]] == ["customer_message"]
    message = assert_problem(alice.post(f"/tickets/{number}/messages", json={"body": "m" * 101}), 422)
    assert [e["field"] for e in message["errors"]] == ["body"]


def test_nul_characters_are_refused_not_stored(api, vulnerability):
    alice = api("alice")
    before = counts()
    body = assert_problem(
        alice.post("/tickets", json={**vulnerability, "description": "a\x00b", "customer_message": "\x00"}), 422
    )
    assert sorted(e["field"] for e in body["errors"]) == ["customer_message", "description"]
    for field, value in (
        ("offers", ["contoso\x00backup"]),
        ("cve_ids", ["CVE-2026-1234\x00"]),
        ("cwe_ids", ["CWE-79\x00"]),
        ("cvss_vectors", ["CVSS:3.1/AV:N\x00"]),
        ("category", "vulnerability\x00"),
        ("mitigation", "none\x00"),
    ):
        response = alice.post("/tickets", json={**vulnerability, field: value})
        assert response.status_code == 422, (field, response.text)
        assert response.headers["Content-Type"] == PROBLEM
        assert response.json()["errors"][0]["field"].split(".")[0] == field
    organization = alice.post("/tickets", json={**vulnerability, "organization": "contoso\x00"})
    assert organization.status_code == 422
    assert counts() == before


def test_unknown_or_nul_filter_values_are_field_errors(api, world):
    alice = api("alice")
    for params in (
        {"status": "draft\x00"},
        {"status": "submited"},
        {"category": "\x00"},
        {"category": "bug"},
        {"severity": "high\x00"},
        {"severity": "severe"},
        {"cursor": "\x00"},
    ):
        body = assert_problem(alice.get("/tickets", params=params), 422)
        assert [e["field"] for e in body["errors"]] == list(params), params
    both = assert_problem(alice.get("/tickets", params={"status": "x", "severity": "y"}), 422)
    assert sorted(e["field"] for e in both["errors"]) == ["severity", "status"]


def test_nul_characters_in_the_path_are_not_found(api, world):
    from secdesk.domain.intake import Answers
    from secdesk.tickets import services

    ticket, _ = services.create_ticket(world.actor("alice"), answers=Answers(category="vulnerability"))
    alice = api("alice")
    assert_problem(alice.get("/tickets/SEC-%00"), 404)
    assert_problem(alice.get(f"/tickets/{ticket.confirmation_number}/attachments/%00"), 404)
    assert_problem(alice.get(f"/tickets/{ticket.confirmation_number}/attachments/ab%00cd"), 404)


def test_failed_creates_leave_nothing_half_written(api, vulnerability):
    alice = api("alice")
    before = counts()
    failures = [
        {**vulnerability, "cvss_vectors": ["CVSS:3.1/AV:N"], "submit": True},
        {**vulnerability, "offers": ["contoso-backup", "fabrikam-gateway"], "submit": True},
        {**vulnerability, "offers": ["contoso-backup", "contoso-backup"]},
        {**vulnerability, "organization": "fabrikam"},
        {**vulnerability, "description": "", "submit": True},
    ]
    for payload in failures:
        response = alice.post("/tickets", json=payload)
        assert response.status_code == 422, response.text
    assert counts() == before


# --- credentials --------------------------------------------------------------------------


def assert_unauthenticated(response) -> None:
    body = assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="secdesk"'
    assert "token" in body["detail"]


def test_no_token_is_401_everywhere(api, live_server, vulnerability):
    anonymous = api(None)
    before = counts()
    assert_unauthenticated(anonymous.get("/tickets"))
    assert_unauthenticated(anonymous.post("/tickets", json=vulnerability))
    assert_unauthenticated(anonymous.get("/tickets/SEC-0000-0000-0"))
    assert_unauthenticated(anonymous.get("/offers"))
    assert counts() == before


GARBAGE_AUTHORIZATION = [
    "Bearer sdt_not-a-real-token",
    "Bearer garbage",
    "Bearer ",
    "Basic YWxpY2U6cGFzc3dvcmQ=",
    "sdt_without_scheme",
    "Bearer sdt_" + "a" * 300,
]


def test_garbage_credentials_are_401(live_server, world, vulnerability):
    url = live_server.url + "/api/v1/tickets"
    before = counts()
    for authorization in GARBAGE_AUTHORIZATION:
        headers = {"Authorization": authorization}
        assert_unauthenticated(requests.get(url, headers=headers, timeout=10))
        assert_unauthenticated(requests.post(url, json=vulnerability, headers=headers, timeout=10))
    assert counts() == before


def _bearer(live_server, token: str, path: str = "/tickets") -> requests.Response:
    return requests.get(live_server.url + "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_revoked_token_is_401(live_server, world):
    from secdesk.accounts import tokens

    issued = tokens.create_token(user=world.users["alice"], name="laptop")
    assert _bearer(live_server, issued.secret).status_code == 200
    assert tokens.revoke_token(user=world.users["alice"], name="laptop") == 1
    assert_unauthenticated(_bearer(live_server, issued.secret))
    # A new token of the same name works; the old one stays dead.
    fresh = tokens.create_token(user=world.users["alice"], name="laptop")
    assert _bearer(live_server, fresh.secret).status_code == 200
    assert_unauthenticated(_bearer(live_server, issued.secret))


def test_expired_token_is_401(live_server, world):
    from django.utils import timezone

    from secdesk.accounts import tokens
    from secdesk.accounts.models import ApiToken

    issued = tokens.create_token(user=world.users["alice"], name="short", expires_in_days=1)
    assert _bearer(live_server, issued.secret).status_code == 200
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_unauthenticated(_bearer(live_server, issued.secret))


def test_token_of_an_inactive_user_is_401(live_server, world):
    from secdesk.accounts import tokens

    issued = tokens.create_token(user=world.users["alice"], name="ci")
    assert _bearer(live_server, issued.secret).status_code == 200
    world.users["alice"].is_active = False
    world.users["alice"].save(update_fields=["is_active"])
    assert_unauthenticated(_bearer(live_server, issued.secret))
    assert_unauthenticated(_bearer(live_server, issued.secret, "/offers"))


def test_tokens_are_stored_as_digests_only(world):
    from secdesk.accounts import tokens
    from secdesk.accounts.models import ApiToken

    issued = tokens.create_token(user=world.users["bob"], name="digest-check")
    assert issued.secret.startswith("sdt_")
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.secret not in (row.digest, row.prefix)
    assert row.digest == tokens.digest(issued.secret)
    assert issued.secret.startswith(row.prefix)
    assert tokens.authenticate(issued.secret).pk == row.pk
    assert tokens.authenticate(issued.secret + "x") is None


def test_unexpected_errors_are_problem_json_without_a_trace(api, world, monkeypatch):
    from secdesk.tickets import selectors

    def boom(*_args, **_kwargs):
        raise RuntimeError("database on fire: secret internals")

    monkeypatch.setattr(selectors, "list_tickets", boom)
    response = api("alice").get("/tickets")
    body = assert_problem(response, 500)
    assert "secret internals" not in response.text
    assert body["detail"] == "Something went wrong on our side; it has been logged."
