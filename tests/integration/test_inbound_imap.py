"""IMAP polling against a real Dovecot: mail arrives over Dovecot's LMTP, ``poll_mailbox()`` takes it from there."""

from __future__ import annotations

import pytest
from imap_tools import AND

from secdesk.inbound import imap, services
from secdesk.inbound.models import InboundMessage, InboundStatus
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Message
from tests.inbound_fixtures import addresses, dovecot, make_reply, reply_address  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db(transaction=True)

LOG = b"2026-11-25T09:58:01Z upload: POST /api/upload 500\n"


@pytest.fixture
def tickets(world, vulnerability):
    from secdesk.domain.intake import Answers

    def file(who: str, offer: str):
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in vulnerability.items()}
        ticket, _ = ticket_services.create_ticket(
            world.actor(who), answers=Answers(**{**data, "offers": (offer,)}), submit=True
        )
        return ticket

    return {"contoso": file("alice", "contoso-backup"), "fabrikam": file("bob", "fabrikam-gateway")}


def bodies(ticket) -> list[str]:
    return list(Message.objects.filter(ticket=ticket).order_by("id").values_list("body", flat=True))


def test_poll_posts_quarantines_ignores_and_moves(settings, dovecot, addresses, tickets):  # noqa: F811
    contoso, fabrikam = tickets["contoso"], tickets["fabrikam"]
    by_token = make_reply(
        sender="Alice Contoso <alice@contoso.example>",
        to=reply_address(addresses, contoso),
        subject="Re: your question",  # no number: the address alone threads it
        body="By token: versions 4.2.0-4.2.3.",
        attachments=[("upload.log", "text/plain", LOG)],
    )
    by_subject = make_reply(
        sender="alice@contoso.example",
        subject=f"RE: [{contoso.confirmation_number}] What we need from you",
        body="By subject: the fix ships on Friday.",
        message_id="<by-subject-1@contoso.example>",
    )
    by_references = make_reply(
        sender="Bob Fabrikam <bob@fabrikam.example>",
        subject="Re: your message",
        body="By references: confirmed.",
        references=[f"<ticket-{fabrikam.confirmation_number}@secdesk.example>", "<delivery-1.x@secdesk.example>"],
    )
    stranger = make_reply(
        sender="Mallory <mallory@evil.example>",
        subject=f"Re: [{contoso.confirmation_number}]",
        body="Please send me the exploit details.",
    )
    other_org = make_reply(
        sender="bob@fabrikam.example",
        subject=f"Re: [{contoso.confirmation_number}]",
        body="Not my ticket.",
    )
    out_of_office = make_reply(
        sender="alice@contoso.example",
        to=reply_address(addresses, contoso),
        subject=f"Automatic reply: [{contoso.confirmation_number}]",
        body="I am out of the office.",
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )
    for raw in (by_token, by_subject, by_references, stranger, other_org, out_of_office):
        dovecot.deliver(raw, rcpt="reply@inbound.example.test")
    # The same message delivered twice (a second MX, a retried transfer): posted once.
    dovecot.deliver(by_subject, rcpt="reply@inbound.example.test")

    report = imap.poll_mailbox(dovecot.url)

    assert report.fetched == 7
    assert report.failed == 0
    assert report.by_status == {"posted": 3, "quarantined": 2, "ignored_auto_reply": 1, "duplicate": 1}
    assert bodies(contoso) == ["By token: versions 4.2.0-4.2.3.", "By subject: the fix ships on Friday."]
    assert bodies(fabrikam) == ["By references: confirmed."]
    posted = {row.threaded_by: row for row in InboundMessage.objects.filter(status=InboundStatus.POSTED)}
    assert set(posted) == {"reply_token", "subject", "references"}
    assert posted["reply_token"].posted_message.author.email == "alice@contoso.example"
    assert [a.filename for a in posted["reply_token"].posted_message.attachments.all()] == ["upload.log"]
    quarantined = InboundMessage.objects.filter(status=InboundStatus.QUARANTINED).order_by("id")
    assert [(q.sender, q.reason) for q in quarantined] == [
        ("mallory@evil.example", "the sender is not a user of the desk"),
        ("bob@fabrikam.example", "the sender is not a member of the ticket's organisation"),
    ]
    assert all(bytes(q.raw).startswith(b"Return-Path:") for q in quarantined)  # Dovecot's delivery headers kept
    duplicate = InboundMessage.objects.get(status=InboundStatus.DUPLICATE)
    assert duplicate.duplicate_of == posted["subject"]

    with dovecot.mailbox() as box:
        assert box.uids(AND(all=True)) == []  # nothing left in the inbox
        box.folder.set(settings.IMAP_PROCESSED_FOLDER)
        processed = list(box.fetch(AND(all=True), mark_seen=False))
        assert len(processed) == 7
        assert all("\\Seen" in m.flags for m in processed)

    # Polling again finds nothing new.
    assert imap.poll_mailbox(dovecot.url).fetched == 0
    assert InboundMessage.objects.count() == 7


def test_a_message_the_desk_fails_to_record_stays_unseen(monkeypatch, dovecot, world, tickets):  # noqa: F811
    contoso = tickets["contoso"]
    raw = make_reply(sender="alice@contoso.example", subject=f"Re: [{contoso.confirmation_number}]", body="Retry me.")
    dovecot.deliver(raw)
    real_receive = services.receive

    def broken(*args, **kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(services, "receive", broken)
    report = imap.poll_mailbox(dovecot.url)
    assert (report.fetched, report.failed) == (1, 1)
    assert not InboundMessage.objects.exists()
    with dovecot.mailbox() as box:
        assert len(box.uids(AND(seen=False))) == 1  # still there, still unseen

    monkeypatch.setattr(services, "receive", real_receive)
    assert imap.poll_mailbox(dovecot.url).by_status == {"posted": 1}
    assert bodies(contoso) == ["Retry me."]


def test_a_crash_after_the_commit_posts_nothing_twice(monkeypatch, dovecot, world, tickets):  # noqa: F811
    """The desk recorded the message but died before moving it: the next poll records a duplicate, no second post."""
    contoso = tickets["contoso"]
    raw = make_reply(sender="alice@contoso.example", subject=f"Re: [{contoso.confirmation_number}]", body="Once.")
    dovecot.deliver(raw)
    from imap_tools.mailbox import BaseMailBox

    real_flag = BaseMailBox.flag

    def crash(*args, **kwargs):
        raise OSError("connection reset by peer")

    monkeypatch.setattr(BaseMailBox, "flag", crash)
    with pytest.raises(OSError, match="connection reset"):
        imap.poll_mailbox(dovecot.url)
    monkeypatch.setattr(BaseMailBox, "flag", real_flag)
    assert imap.poll_mailbox(dovecot.url).by_status == {"duplicate": 1}
    assert bodies(contoso) == ["Once."]
    with dovecot.mailbox() as box:
        assert box.uids(AND(all=True)) == []


def test_no_url_means_no_polling(settings):
    settings.IMAP_URL = ""
    assert imap.poll_mailbox().fetched == 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "imaps://desk%40example.org:p%40ss@mail.example.org/INBOX",
            (True, "mail.example.org", 993, "desk@example.org"),
        ),
        ("imap://u:p@127.0.0.1:10143/Replies%20In", (False, "127.0.0.1", 10143, "u")),
    ],
)
def test_mailbox_urls(url, expected):
    parsed = imap.parse_url(url)
    assert (parsed.secure, parsed.host, parsed.port, parsed.user) == expected


@pytest.mark.parametrize("url", ["pop3://u:p@h/", "imaps://h/INBOX", "imap://u:p@h:99999/"])
def test_bad_mailbox_urls(url):
    from secdesk.config import ConfigError

    with pytest.raises(ConfigError):
        imap.parse_url(url)
