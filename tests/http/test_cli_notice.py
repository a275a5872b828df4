"""``secdesk notice …`` against a live desk: co-edit, diff and approve the customer notice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from secdesk.domain.intake import Answers
from secdesk.tickets import services as ticket_services

pytestmark = pytest.mark.django_db(transaction=True)


def cli(live_server, token: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SECDESK_URL": live_server.url, "SECDESK_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "secdesk.cli.main", "notice", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_publisher_and_lead_agree_a_notice_from_the_command_line(live_server, world, token_for, tmp_path):
    answers = Answers(
        category="security_incident",
        offers=("contoso-backup",),
        description="Leaked key",
        mitigation="none",
        customer_message="Rotate your keys.",
    )
    ticket, _ = ticket_services.create_ticket(world.actor("alice"), answers=answers, submit=True)
    number = ticket.confirmation_number
    alice, leo = token_for("alice"), token_for("leo")

    started = cli(live_server, alice, "start", number)
    assert started.returncode == 0, started.stderr
    assert "version 1" in started.stdout
    assert "Rotate your keys." in started.stdout

    body = tmp_path / "notice.md"
    body.write_text("Rotate your keys **today**.", encoding="utf-8")
    edited = cli(
        live_server, alice, "edit", number, "--subject", "Rotate keys", "--body-file", str(body), "--base-version", "1"
    )
    assert edited.returncode == 0, edited.stderr
    assert "version 2" in edited.stdout

    stale = cli(live_server, alice, "edit", number, "--subject", "x", "--body-file", str(body), "--base-version", "1")
    assert stale.returncode == 1
    assert "409" in stale.stderr

    diff = cli(live_server, leo, "diff", number, "--from", "1", "--to", "2")
    assert diff.returncode == 0, diff.stderr
    assert "+Rotate your keys **today**." in diff.stdout

    assert cli(live_server, alice, "approve", number, "--version", "2").returncode == 0
    approved = cli(live_server, leo, "approve", number, "--version", "2")
    assert approved.returncode == 0, approved.stderr
    assert "approved, version 2" in approved.stdout
    shown = cli(live_server, token_for("bob"), "show", number)
    assert shown.returncode == 1
    assert "404" in shown.stderr
