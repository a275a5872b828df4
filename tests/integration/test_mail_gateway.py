"""``secdesk mail-gateway`` as a real subprocess: an LMTP server fed with ``smtplib.LMTP``."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest

from secdesk.domain.intake import Answers
from secdesk.inbound.models import InboundMessage, InboundStatus
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Message
from tests.http.test_cli import database_url
from tests.inbound_fixtures import free_port, make_reply, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def gateway(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECDESK_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    log = open(tmp_path / "gateway.log", "wb")  # noqa: SIM115 — closed below, after the process
    process = subprocess.Popen(
        [sys.executable, "-m", "secdesk.cli.main", "mail-gateway", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=60, process=process)
        yield port, tmp_path / "gateway.log"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        log.close()
    assert code == 0, (tmp_path / "gateway.log").read_text()


@pytest.fixture
def ticket(world, vulnerability):
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in vulnerability.items()}
    filed, _ = ticket_services.create_ticket(world.actor("alice"), answers=Answers(**data), submit=True)
    return filed


def test_gateway_posts_a_reply_over_lmtp(gateway, ticket):
    port, _log = gateway
    number = ticket.confirmation_number
    raw = make_reply(
        sender="Alice Contoso <alice@contoso.example>",
        to="reply@inbound.example.test",
        subject=f"Re: [{number}] What we need from you",
        body="Over LMTP: the patched build is 4.2.4.",
        references=[f"<ticket-{number}@secdesk.example>"],
        attachments=[("build.pdf", "application/pdf", PDF)],
    )
    with smtplib.LMTP("127.0.0.1", port, timeout=30) as lmtp:
        refused = lmtp.sendmail("alice@contoso.example", ["reply@inbound.example.test"], raw)
    assert refused == {}
    row = InboundMessage.objects.get()
    assert (row.status, row.source, row.threaded_by) == (InboundStatus.POSTED, "lmtp", "subject")
    message = Message.objects.get(ticket=ticket)
    assert message.body == "Over LMTP: the patched build is 4.2.4."
    assert message.author.email == "alice@contoso.example"
    assert [a.filename for a in message.attachments.all()] == ["build.pdf"]
    assert bytes(row.raw).startswith(
        b"Return-Path: <alice@contoso.example>\r\nDelivered-To: reply@inbound.example.test"
    )


def test_gateway_records_strangers_and_bounces_and_answers_250(gateway, ticket):
    port, _log = gateway
    number = ticket.confirmation_number
    stranger = make_reply(sender="mallory@evil.example", subject=f"Re: [{number}]", body="Give me the details.")
    bounce = make_reply(sender="MAILER-DAEMON@mx.contoso.example", subject="Undelivered Mail", body="550 5.1.1")
    with smtplib.LMTP("127.0.0.1", port, timeout=30) as lmtp:
        assert lmtp.sendmail("mallory@evil.example", ["reply@inbound.example.test"], stranger) == {}
        assert lmtp.sendmail("", ["reply@inbound.example.test"], bounce) == {}
        # The same message again: recorded as a duplicate, still accepted (the MTA's job is done).
        assert lmtp.sendmail("mallory@evil.example", ["reply@inbound.example.test"], stranger) == {}
    statuses = list(InboundMessage.objects.order_by("id").values_list("status", "reason"))
    assert statuses[0] == (InboundStatus.QUARANTINED, "the sender is not a user of the desk")
    assert statuses[1][0] == InboundStatus.IGNORED_AUTO_REPLY
    assert statuses[2][0] == InboundStatus.DUPLICATE
    assert not Message.objects.filter(ticket=ticket).exists()


def test_gateway_refuses_helo_and_speaks_lmtp(gateway):
    port, _log = gateway
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        code, _ = smtp.helo("client.example")
        assert code == 500  # LMTP has LHLO, not HELO


def test_the_gateway_warns_when_senders_are_not_verified(gateway):
    # No SECDESK_INBOUND_AUTHSERV_ID in the gateway's environment: it says at start that From is trusted.
    _port, log = gateway
    assert "accepted on the strength of their From address alone" in log.read_text()
