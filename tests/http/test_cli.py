"""The ``secdesk`` command as a real subprocess: server-side commands on the test database, the API client
against the live server."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.http.test_api_tickets import no_nagle  # noqa: F401 — autouse fixture: a fast live server

pytestmark = pytest.mark.django_db(transaction=True)

V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
TICKET = {
    "category": "vulnerability",
    "offers": ["contoso-backup"],
    "description": "Remote code execution in the scheduler.",
    "cvss_vectors": [V31],
    "cve_ids": ["cve-2026-7777"],
    "mitigation": "workaround",
    "remediation_steps": "Disable the scheduler.",
}


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database, not the configured one)."""
    from django.db import connection

    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    assert connection.vendor == "postgresql", connection.vendor
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    return f"postgres://{conf['USER']}{password}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"


def secdesk(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("SECDESK_TOKEN", "SECDESK_URL")}
    base["DATABASE_URL"] = database_url()
    base["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        [sys.executable, "-m", "secdesk.cli.main", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def client_env(live_server, token_for) -> dict[str, str]:
    return {"SECDESK_URL": live_server.url, "SECDESK_TOKEN": token_for("alice")}


def ticket_file(tmp_path: Path, data: dict, suffix: str) -> str:
    path = tmp_path / f"ticket{suffix}"
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def file_ticket(world) -> str:
    from secdesk.domain.intake import Answers
    from secdesk.tickets import services

    ticket, _ = services.create_ticket(
        world.actor("alice"),
        answers=Answers(
            category="vulnerability",
            offers=("contoso-backup",),
            description="x",
            cve_ids=("CVE-2026-0002",),
            mitigation="none",
        ),
        submit=True,
    )
    return ticket.confirmation_number


# --- server-side commands ----------------------------------------------------------------


def test_token_create_prints_only_a_working_token(world, api, live_server):
    import requests

    result = secdesk("token", "create", "--user", "alice@contoso.example", "--name", "laptop")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert token.startswith("sdt_")
    assert token == token.strip()
    assert len(token) > 40
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(live_server.url + "/api/v1/tickets", headers=headers, timeout=10).status_code == 200
    # Revoking it through the CLI makes it useless.
    revoked = secdesk("token", "revoke", "--user", "alice@contoso.example", "--name", "laptop")
    assert revoked.returncode == 0
    assert revoked.stdout.strip() == "revoked 1 token(s)"
    assert requests.get(live_server.url + "/api/v1/tickets", headers=headers, timeout=10).status_code == 401


def test_token_create_for_an_unknown_user_is_a_usage_error(world):
    result = secdesk("token", "create", "--user", "nobody@example.org")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no user 'nobody@example.org'" in result.stderr


def test_sla_due_friday_after_thanksgiving():
    # 2026-11-26 is Thanksgiving; the Friday after is a working day in the US calendar of `holidays`,
    # so one business day (8 h) from Friday 16:00 is Friday 16-17 h + Monday 09-16 h.
    args = ("--submitted", "2026-11-27T16:00:00", "--country", "US", "--timezone", "America/New_York")
    result = secdesk("sla", "due", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2026-11-30T16:00:00-05:00\n"


def test_sla_due_refuses_bad_input():
    result = secdesk("sla", "due", "--submitted", "yesterday")
    assert result.returncode == 2
    assert "--submitted: 'yesterday' is not an ISO 8601 date-time" in result.stderr


def test_demo_is_idempotent():
    from secdesk import demo
    from secdesk.accounts.models import Membership, Organization, User
    from secdesk.marketplace.models import Customer, Deployment, Offer, Plan

    def counts() -> dict[str, int]:
        models = (User, Organization, Membership, Offer, Plan, Customer, Deployment)
        return {model.__name__: model.objects.count() for model in models}

    first = secdesk("demo", "--password", "demo-password-123")
    assert first.returncode == 0, first.stderr
    after_first = counts()
    # Exactly what the demo declares, no more.
    offers = [plans for spec in demo.PUBLISHERS.values() for _name, plans in spec["offers"].values()]
    assert after_first == {
        "User": len(demo.PUBLISHERS) + len(demo.STAFF),
        "Organization": len(demo.PUBLISHERS),
        "Membership": len(demo.PUBLISHERS),
        "Offer": len(offers),
        "Plan": sum(len(plans) for plans in offers),
        "Customer": len(demo.CUSTOMERS),
        "Deployment": after_first["Deployment"],
    }
    assert after_first["Deployment"] > 0
    for email in ("alice@contoso.example", "bob@fabrikam.example", "rita@marketplace.example"):
        assert email in first.stdout
    assert "demo-password-123" in first.stdout

    second = secdesk("demo", "--password", "demo-password-123")
    assert second.returncode == 0, second.stderr
    assert counts() == after_first
    assert User.objects.get(email="rita@marketplace.example").staff_role == "responder"


def test_audit_verify_passes_then_fails_after_tampering(world):
    from secdesk.tickets.models import TimelineEvent

    number = file_ticket(world)
    intact = secdesk("audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "checked 1 tickets, 2 events: all chains intact" in intact.stdout

    TimelineEvent.objects.filter(ticket__confirmation_number=number, seq=1).update(data={"category": "forged"})
    broken = secdesk("audit", "verify")
    assert broken.returncode != 0
    assert f"{number}: event 1: content does not match its hash" in broken.stdout
    assert "1 broken" in broken.stdout


# --- the API client -----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_ticket_submit_from_a_file_prints_the_confirmation_number(world, client_env, tmp_path, suffix):
    from secdesk.tickets.models import Ticket

    result = secdesk("ticket", "submit", "--file", ticket_file(tmp_path, TICKET, suffix), env=client_env)
    assert result.returncode == 0, result.stderr
    ticket = Ticket.objects.get()
    assert ticket.status == "submitted"
    assert ticket.cve_ids == ["CVE-2026-7777"]
    first_line = result.stdout.splitlines()[0]
    assert first_line.split() == ["Confirmation", "number", ticket.confirmation_number]
    assert "9.8 critical" in result.stdout


def test_ticket_submit_from_stdin_as_draft_with_json_output(world, client_env):
    from secdesk.tickets.models import Ticket

    args = ("ticket", "submit", "--file", "-", "--draft", "--json")
    result = secdesk(*args, env=client_env, stdin=yaml.safe_dump(TICKET))
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["status"] == "draft"
    assert Ticket.objects.get().confirmation_number == shown["confirmation_number"]


def test_invalid_ticket_file_names_the_metric_and_files_nothing(world, client_env, tmp_path):
    from secdesk.tickets.models import Ticket

    bad = {**TICKET, "cvss_vectors": ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q"]}
    result = secdesk("ticket", "submit", "--file", ticket_file(tmp_path, bad, ".yaml"), env=client_env)
    assert result.returncode == 1
    assert "error 422" in result.stderr
    assert "cvss_vectors.0" in result.stderr
    assert "[metric A]" in result.stderr
    assert Ticket.objects.count() == 0

    unreadable = tmp_path / "broken.yaml"
    unreadable.write_text("category: [unclosed", encoding="utf-8")
    parsed = secdesk("ticket", "submit", "--file", str(unreadable), env=client_env)
    assert parsed.returncode == 2
    assert "not valid YAML/JSON" in parsed.stderr
    missing = secdesk("ticket", "submit", "--file", str(tmp_path / "nope.yaml"), env=client_env)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def test_ticket_show_and_list(world, client_env, token_for):
    number = file_ticket(world)
    shown = secdesk("ticket", "show", number.lower().replace("-", ""), env=client_env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["Confirmation", "number", number]
    assert lines[1].split() == ["Status", "submitted"]
    assert "Timeline" in lines
    timeline = lines[lines.index("Timeline") + 1 :]
    assert timeline[0].split()[1:] == ["ticket.created", "alice@contoso.example"]
    assert timeline[1].split()[1:] == ["ticket.submitted", "alice@contoso.example"]

    from secdesk.domain.intake import Answers
    from secdesk.tickets import services

    draft, _ = services.create_ticket(world.actor("alice"), answers=Answers(category="security_incident"))
    bob_ticket, _ = services.create_ticket(
        world.actor("bob"),
        answers=Answers(category="security_incident", offers=("fabrikam-gateway",), description="b", mitigation="none"),
        submit=True,
    )
    listed = secdesk("ticket", "list", env=client_env)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [row[:2] for row in rows] == [[draft.confirmation_number, "draft"], [number, "submitted"]]
    assert bob_ticket.confirmation_number not in listed.stdout
    only_submitted = secdesk("ticket", "list", "--status", "submitted", "--json", env=client_env)
    assert [t["confirmation_number"] for t in json.loads(only_submitted.stdout)] == [number]

    missing = secdesk("ticket", "show", "SEC-0000-0000-0", env=client_env)
    assert missing.returncode == 1
    assert "error 404" in missing.stderr
    foreign = secdesk("ticket", "show", bob_ticket.confirmation_number, env=client_env)
    assert foreign.returncode == 1
    assert foreign.stderr == missing.stderr.replace("SEC-0000-0000-0", bob_ticket.confirmation_number)


def test_ticket_reply_with_attachment_is_visible_through_the_api(world, client_env, api, tmp_path):
    number = file_ticket(world)
    evidence = tmp_path / "evidence.log"
    content = b"GET /restore?path=../../etc/passwd 200\n" * 50
    evidence.write_bytes(content)
    result = secdesk("ticket", "reply", number, "--message", "hi", "--attach", str(evidence), env=client_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith(f"posted on {number}")
    digest = hashlib.sha256(content).hexdigest()
    assert f"attached evidence.log ({len(content)} bytes, sha256 {digest})" in result.stdout

    alice = api("alice")
    [message] = alice.get(f"/tickets/{number}/messages").json()
    assert message["body"] == "hi"
    [attachment] = message["attachments"]
    assert (attachment["filename"], attachment["size"], attachment["sha256"]) == ("evidence.log", len(content), digest)
    assert alice.get(f"/tickets/{number}/attachments/{attachment['id']}").content == content

    plain = secdesk("ticket", "reply", number, "--message", "no files", env=client_env)
    assert plain.returncode == 0, plain.stderr
    assert [m["body"] for m in alice.get(f"/tickets/{number}/messages").json()] == ["hi", "no files"]
    internal = secdesk("ticket", "reply", number, "--message", "psst", "--internal", env=client_env)
    assert internal.returncode == 1
    assert "error 403" in internal.stderr


def test_missing_token_is_a_usage_error(live_server, tmp_path):
    result = secdesk("ticket", "list", env={"SECDESK_URL": live_server.url})
    assert result.returncode == 2
    assert result.stdout == ""
    assert "SECDESK_TOKEN is not set" in result.stderr
    assert "secdesk token create" in result.stderr


def test_unreachable_desk_exits_3(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    env = {"SECDESK_URL": f"http://127.0.0.1:{port}", "SECDESK_TOKEN": "sdt_whatever"}
    result = secdesk("ticket", "list", env=env)
    assert result.returncode == 3
    assert f"cannot reach the desk at http://127.0.0.1:{port}" in result.stderr
    submitted = secdesk("ticket", "submit", "--file", ticket_file(tmp_path, TICKET, ".yaml"), env=env)
    assert submitted.returncode == 3


def test_bad_token_is_an_api_error(live_server, world):
    result = secdesk("ticket", "list", env={"SECDESK_URL": live_server.url, "SECDESK_TOKEN": "sdt_nope"})
    assert result.returncode == 1
    assert "error 401" in result.stderr
