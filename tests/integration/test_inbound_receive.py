"""``inbound.services``: threading, who may post, duplicates, limits, and the staff quarantine decisions."""

from __future__ import annotations

import pytest

from secdesk.domain.errors import Conflict, NotFound, PermissionDenied
from secdesk.domain.intake import Answers
from secdesk.inbound import selectors, services
from secdesk.inbound.models import InboundMessage, InboundStatus
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Message, TimelineEvent
from tests.inbound_fixtures import addresses, make_reply, reply_address  # noqa: F401 — fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(world, vulnerability):
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in vulnerability.items()}
    filed, _ = ticket_services.create_ticket(world.actor("alice"), answers=Answers(**data), submit=True)
    return filed


def receive(raw: bytes, **kwargs):
    return services.receive(raw, source="test", **kwargs)


def test_reply_token_wins_over_subject_and_references(world, ticket, addresses, vulnerability):  # noqa: F811
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in vulnerability.items()}
    other, _ = ticket_services.create_ticket(world.actor("alice"), answers=Answers(**data), submit=True)
    raw = make_reply(
        sender="alice@contoso.example",
        to=reply_address(addresses, ticket),
        subject=f"Re: [{other.confirmation_number}]",
        references=[f"<ticket-{other.confirmation_number}@secdesk.example>"],
    )
    result = receive(raw)
    assert (result.status, result.confirmation_number) == ("posted", ticket.confirmation_number)
    assert InboundMessage.objects.get().threaded_by == "reply_token"


def test_a_forged_token_falls_back_to_the_subject(ticket, addresses):  # noqa: F811
    raw = make_reply(
        sender="alice@contoso.example",
        to="reply+t999.forged@inbound.example.test",
        subject=f"Re: [{ticket.confirmation_number.lower().replace('-', ' ')}]",
    )
    result = receive(raw)
    assert (result.status, result.confirmation_number) == ("posted", ticket.confirmation_number)
    assert InboundMessage.objects.get().threaded_by == "subject"


def test_a_mistyped_number_in_the_subject_threads_nothing(ticket):
    number = ticket.confirmation_number
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    result = receive(make_reply(sender="alice@contoso.example", subject=f"Re: [{wrong}]"))
    assert result.status == "quarantined"
    assert result.reason == "no ticket found (reply address, subject or references)"


def test_staff_reply_by_mail_is_posted_as_the_marketplace(ticket):
    result = receive(make_reply(sender="rita@marketplace.example", subject=f"[{ticket.confirmation_number}]"))
    assert result.status == "posted"
    message = Message.objects.get(pk=result.message_id)
    assert message.from_marketplace
    assert not message.internal
    event = TimelineEvent.objects.filter(ticket=ticket, kind="message.created").get()
    assert event.public


def test_auditors_and_inactive_users_are_quarantined(world, ticket):
    audrey = receive(make_reply(sender="audrey@marketplace.example", subject=f"[{ticket.confirmation_number}]"))
    assert audrey.status == "quarantined"
    assert audrey.reason.startswith("refused by the desk:")
    alice = world.users["alice"]
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    gone = receive(make_reply(sender="alice@contoso.example", subject=f"[{ticket.confirmation_number}]"))
    assert (gone.status, gone.reason) == ("quarantined", "the sender is not a user of the desk")


def test_a_reply_with_nothing_but_quoted_history_is_quarantined(ticket):
    result = receive(make_reply(sender="alice@contoso.example", subject=f"[{ticket.confirmation_number}]", body=""))
    assert (result.status, result.reason) == ("quarantined", "no reply text above the quoted history")


def test_same_message_id_posts_once(ticket):
    raw = make_reply(
        sender="alice@contoso.example", subject=f"[{ticket.confirmation_number}]", message_id="<once@contoso.example>"
    )
    first, second = receive(raw), receive(raw)
    assert (first.status, second.status) == ("posted", "duplicate")
    assert Message.objects.filter(ticket=ticket).count() == 1
    # A different message under a stolen Message-ID is not posted either; it stays on record.
    other = make_reply(sender="mallory@evil.example", subject="hi", message_id="<once@contoso.example>")
    assert receive(other).status == "duplicate"
    assert InboundMessage.objects.filter(duplicate_of__isnull=False).count() == 2


def test_attachments_within_the_desks_limits(settings, ticket):
    settings.MAX_ATTACHMENT_BYTES = 100
    files = [(f"f{i}.txt", "text/plain", b"x" * 10) for i in range(12)]
    files += [("big.bin", "application/octet-stream", b"y" * 101), ("empty.txt", "text/plain", b"")]
    result = receive(
        make_reply(sender="alice@contoso.example", subject=f"[{ticket.confirmation_number}]", attachments=files)
    )
    assert result.status == "posted"
    message = Message.objects.get(pk=result.message_id)
    assert message.attachments.count() == 10
    assert "f10.txt: more than 10 attachments" in message.body
    assert "big.bin: larger than 100 bytes" in message.body
    assert "empty.txt: empty" in message.body


def test_overlong_text_is_cut_and_says_so(settings, ticket):
    settings.MAX_TEXT_CHARS = 200
    result = receive(
        make_reply(sender="alice@contoso.example", subject=f"[{ticket.confirmation_number}]", body="word " * 200)
    )
    body = Message.objects.get(pk=result.message_id).body
    assert len(body) == 200
    assert body.endswith("[… truncated; the whole e-mail is kept by the desk]")


def test_too_large_messages_are_kept_truncated_as_malformed(settings, ticket):
    settings.INBOUND_MAX_BYTES = 2000
    raw = make_reply(
        sender="alice@contoso.example",
        subject=f"[{ticket.confirmation_number}]",
        attachments=[("a.bin", "application/octet-stream", b"z" * 5000)],
    )
    result = receive(raw)
    assert result.status == "malformed"
    assert len(bytes(InboundMessage.objects.get().raw)) == 2000


def test_malformed_mime_is_kept_for_inspection(ticket):
    raw = (
        f"From: alice@contoso.example\r\nSubject: [{ticket.confirmation_number}]\r\n"
        "Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts here\r\n"
    ).encode()
    result = receive(raw)
    assert result.status == "malformed"
    assert "StartBoundaryNotFoundDefect" in result.reason
    assert bytes(InboundMessage.objects.get().raw) == raw
    assert not Message.objects.filter(ticket=ticket).exists()


def test_envelope_bounce_is_ignored(ticket):
    raw = make_reply(sender="alice@contoso.example", subject=f"[{ticket.confirmation_number}]")
    result = receive(raw, envelope_from="", envelope_to=["reply@inbound.example.test"])
    assert (result.status, result.reason) == ("ignored_auto_reply", "empty return path (a bounce)")


def test_dmarc_required_when_configured(settings, ticket):
    settings.INBOUND_AUTHSERV_ID = "mx.secdesk.example"
    unsigned = make_reply(sender="alice@contoso.example", subject=f"[{ticket.confirmation_number}]")
    assert receive(unsigned).status == "quarantined"
    forged_elsewhere = make_reply(
        sender="alice@contoso.example",
        subject=f"[{ticket.confirmation_number}]",
        headers={"Authentication-Results": "evil.example; dmarc=pass header.from=contoso.example"},
    )
    assert receive(forged_elsewhere).status == "quarantined"
    signed = make_reply(
        sender="alice@contoso.example",
        subject=f"[{ticket.confirmation_number}]",
        headers={
            "Authentication-Results": "mx.secdesk.example; dkim=pass; dmarc=pass (p=reject) header.from=contoso.example"
        },
    )
    assert receive(signed).status == "posted"


# -- staff decisions ------------------------------------------------------------------------------------------


def test_release_posts_as_the_marketplace_with_attachments(world, ticket):
    quarantined = receive(
        make_reply(
            sender="partner@unknown.example",
            subject="About your ticket",
            body="We saw exploitation in the wild.",
            attachments=[("ioc.txt", "text/plain", b"198.51.100.7")],
        )
    )
    assert quarantined.status == "quarantined"
    rita = world.actor("rita")
    row = services.release(rita, inbound_id=quarantined.inbound_id, confirmation_number=ticket.confirmation_number)
    assert row.status == InboundStatus.POSTED
    assert row.decided_by == world.users["rita"]
    message = row.posted_message
    assert message.from_marketplace
    assert message.author == world.users["rita"]
    assert message.body.startswith("E-mail from partner@unknown.example (")
    assert "We saw exploitation in the wild." in message.body
    assert [a.filename for a in message.attachments.all()] == ["ioc.txt"]
    with pytest.raises(Conflict):
        services.release(rita, inbound_id=quarantined.inbound_id, confirmation_number=ticket.confirmation_number)


def test_only_staff_see_or_decide(world, ticket):
    quarantined = receive(make_reply(sender="x@unknown.example", subject="hello"))
    for name in ("alice", "bob"):
        with pytest.raises(NotFound):
            selectors.access_inbound(world.actor(name), quarantined.inbound_id)
        with pytest.raises(NotFound):
            services.discard(world.actor(name), inbound_id=quarantined.inbound_id)
        with pytest.raises(PermissionDenied):
            selectors.quarantine(world.actor(name))
    assert [r.pk for r in selectors.quarantine(world.actor("audrey")).items] == [quarantined.inbound_id]
    with pytest.raises(PermissionDenied):
        services.discard(world.actor("audrey"), inbound_id=quarantined.inbound_id)
    row = services.discard(world.actor("leo"), inbound_id=quarantined.inbound_id, reason="spam")
    assert row.status == InboundStatus.DISCARDED
    assert "spam" in row.reason
    assert selectors.quarantine(world.actor("rita")).items == []
    assert [r.pk for r in selectors.quarantine(world.actor("rita"), status="discarded").items] == [row.pk]


# -- a round trip with the desk's own outbound e-mail ------------------------------------------------------


@pytest.fixture
def outbound_to_alice(world, ticket, addresses):  # noqa: F811
    """The real e-mail the desk sends alice when her ticket is acknowledged (secdesk/notices)."""
    from secdesk.notices import mail, outbox
    from secdesk.notices.models import MailDelivery
    from secdesk.triage import services as triage

    triage.acknowledge(
        world.actor("rita"), confirmation_number=ticket.confirmation_number, priority="P1", severity="critical"
    )
    outbox.drain()
    delivery = MailDelivery.objects.get(email="alice@contoso.example", kind="ticket.acknowledged")
    return mail.delivery_message(delivery).message()


def test_replying_to_the_desks_mail_threads_by_its_reply_address(ticket, outbound_to_alice):
    out = outbound_to_alice
    assert out["Reply-To"].startswith("reply+")
    raw = make_reply(
        sender="alice@contoso.example",
        to=out["Reply-To"],
        subject="Re: " + out["Subject"],
        body="Thanks for the quick acknowledgement.",
        references=[out["References"], out["Message-ID"]],
    )
    result = receive(raw)
    assert (result.status, result.confirmation_number) == ("posted", ticket.confirmation_number)
    assert InboundMessage.objects.get().threaded_by == "reply_token"


def test_a_client_that_drops_the_reply_address_and_subject_still_threads_by_in_reply_to(ticket, outbound_to_alice):
    raw = make_reply(
        sender="alice@contoso.example",
        subject="Re: your e-mail",
        body="Replying from a client that rewrote everything.",
        references=[outbound_to_alice["Message-ID"]],  # only the delivery's own Message-ID
    )
    result = receive(raw)
    assert (result.status, result.confirmation_number) == ("posted", ticket.confirmation_number)
    assert InboundMessage.objects.get().threaded_by == "references"


def test_the_desks_own_mail_looping_back_is_ignored(ticket, outbound_to_alice):
    result = receive(outbound_to_alice.as_bytes())
    assert result.status == "ignored_auto_reply"
    assert not Message.objects.filter(ticket=ticket).exists()
