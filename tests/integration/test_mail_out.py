# ruff: noqa: RUF001 — Turkish text: its dotless i is meant
"""Outbound e-mail through a real SMTP server (aiosmtpd on loopback), parsed back with the stdlib."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from secdesk.accounts.models import Membership, User
from secdesk.notices import addresses, delivery, outbox, tasks, upkeep
from secdesk.notices.models import MailDelivery
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Ticket, TimelineEvent
from secdesk.triage import services as triage
from tests.integration.mailsink import SmtpSink
from tests.integration.test_outbox import file_ticket

pytestmark = pytest.mark.django_db

ALICE = "alice@contoso.example"


@pytest.fixture
def sink(settings):
    with SmtpSink() as running:
        settings.MAILERS = running.mailers  # the test runner swapped MAILERS for locmem
        yield running


def send_all() -> list[delivery.Outcome]:
    return [delivery.send_delivery(pk) for pk in MailDelivery.objects.order_by("id").values_list("id", flat=True)]


def text_and_html(message) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_a_receipt_is_threaded_tagged_and_auto_submitted(world, sink):
    ticket = file_ticket(world)
    number = ticket.confirmation_number
    outbox.drain()
    assert [o.status for o in send_all()] == ["sent"]

    [received] = sink.messages
    assert received.rcpt_tos == [ALICE]
    message = received.message
    assert message["Subject"] == f"[{number}] We received your security report"
    assert message["Auto-Submitted"] == "auto-generated"
    root = f"<ticket-{number}@secdesk.localhost>"
    assert message["In-Reply-To"] == root
    assert message["References"] == root
    row = MailDelivery.objects.get()
    event = TimelineEvent.objects.get(ticket=ticket, kind="ticket.submitted")
    assert message["Message-ID"] == f"<delivery-{row.pk}.{event.hash[:12]}@secdesk.localhost>"
    assert row.message_id == message["Message-ID"]
    assert row.status == "sent"
    assert row.sent_at is not None
    assert row.attempts == 1

    # Replies come back to a per-ticket address the inbound gateway can trust.
    reply_to = message["Reply-To"]
    match = re.fullmatch(r"reply\+(t\d+\.[0-9a-f]+)@inbound\.secdesk\.localhost", reply_to)
    assert match, reply_to
    assert addresses.ticket_for_reply_token(match.group(1)) == ticket
    assert addresses.ticket_for_message_id(message["Message-ID"]) == ticket
    assert addresses.ticket_for_message_id(root) == ticket

    text, html = text_and_html(message)
    assert f"Your confirmation number is {number}." in text
    assert "Acknowledgement due:" in text
    assert f"/tickets/{number}/" in text
    assert number in html
    assert "<table" in html


def test_reply_tokens_cannot_be_forged(world):
    ticket = file_ticket(world)
    token = addresses.reply_token(ticket)
    assert addresses.ticket_for_reply_token(token.upper()) == ticket  # MTAs may fold case
    ticket_id, digest = token[1:].split(".")
    flipped = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    for forged in (f"t{ticket_id}.{flipped}", f"t{int(ticket_id) + 1}.{digest}", f"t{ticket_id}", "", "t1.xyz"):
        assert addresses.ticket_for_reply_token(forged) is None
    assert addresses.ticket_for_message_id("<delivery-1.abcdef@elsewhere.example>") is None


def test_a_rotated_secret_key_still_verifies_old_tokens(world, settings):
    ticket = file_ticket(world)
    token = addresses.reply_token(ticket)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    assert addresses.reply_token(ticket) != token
    assert addresses.ticket_for_reply_token(token) == ticket


def test_a_turkish_user_gets_turkish_mail_in_their_time_zone(world, sink):
    User.objects.filter(email=ALICE).update(language="tr", timezone="Europe/Istanbul")
    ticket = file_ticket(world)
    outbox.drain()
    send_all()
    [message] = sink.parsed()
    assert message["Subject"] == f"[{ticket.confirmation_number}] Güvenlik raporunuzu aldık"
    text, html = text_and_html(message)
    assert f"Onay numaranız: {ticket.confirmation_number}." in text
    assert "Alındı onayı için son tarih" in text
    assert "(Europe/Istanbul)" in text
    assert 'lang="tr"' in html
    assert "Güvenlik açığı" in html  # the category, translated


def test_people_s_words_are_escaped_in_the_html_part(world, sink):
    ticket = file_ticket(world)
    outbox.drain()
    send_all()
    body = '<script>alert("x")</script> & <b>bold</b>'
    ticket_services.post_message(world.actor("rita"), confirmation_number=ticket.confirmation_number, body=body)
    outbox.drain()
    send_all()
    message = sink.to(ALICE)[-1]
    assert message["Subject"] == f"[{ticket.confirmation_number}] New message from the marketplace security team"
    text, html = text_and_html(message)
    assert body in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_every_kind_renders_in_both_languages(world, sink):
    """Acknowledgement, assessment, request, offer action, breach: subjects tagged, no untranslated Turkish gaps."""
    ticket = file_ticket(world)
    number = ticket.confirmation_number
    rita, leo = world.actor("rita"), world.actor("leo")
    triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
    triage.assess(rita, confirmation_number=number, outcome="confirmed", summary="Reproduced.")
    triage.create_request(
        rita,
        confirmation_number=number,
        kind="modify_offer",
        offer="contoso-backup",
        description="Ship 4.2.1.",
        due_at=timezone.now() + timedelta(days=2),
    )
    triage.take_offer_action(
        leo,
        offer="contoso-backup",
        action="suspend",
        reason="Exploited",
        review_date=timezone.localdate() + timedelta(days=7),
        confirmation_number=number,
    )
    triage.sweep(timezone.now() + timedelta(days=60))
    outbox.drain()
    send_all()
    subjects = {m["Subject"] for m in sink.parsed()}
    assert f"[{number}] Acknowledged: priority P1, severity Critical" in subjects
    assert f"[{number}] Assessment result: Confirmed: the issue is real and affects the offer" in subjects
    assert f"[{number}] Offer suspended: Contoso Backup" in subjects
    assert any(s.startswith(f"[{number}] Action needed by ") and s.endswith(": Modify the offer") for s in subjects)
    assert f"[{number}] Deadline missed: remediation" in subjects or f"[{number}] Publisher request overdue" in str(
        subjects
    )
    leo_mail = sink.to("leo@marketplace.example")
    assert any("Publisher request overdue: Modify the offer" in m["Subject"] for m in leo_mail)

    User.objects.update(language="tr")
    first = sink.messages.__len__()
    for row in MailDelivery.objects.all():
        MailDelivery.objects.filter(pk=row.pk).update(status="pending")
    send_all()
    turkish = [r.message for r in sink.messages[first:]]
    subjects = {m["Subject"] for m in turkish}
    # Python 3.12's own folder would drop the space where it splits an encoded word ("süresigeçti").
    assert f"[{number}] Yayıncı talebinin süresi geçti: Teklifi değiştirin" in subjects
    assert f"[{number}] Teyit edildi: öncelik P1, önem derecesi Kritik" in subjects
    assert f"[{number}] Teklif askıya alındı: Contoso Backup" in subjects
    assert any("Yayıncı talebinin süresi geçti" in s for s in subjects)
    for message in turkish:
        text, _html = text_and_html(message)
        assert "This message was sent automatically" not in text
        assert "Bu mesaj pazar yeri güvenlik masası tarafından otomatik olarak gönderildi." in text


def test_a_temporary_failure_is_retried_later_with_the_same_message_id(world, sink, settings):
    from django_tasks_db.models import DBTaskResult

    settings.MAIL_RETRY_BASE_SECONDS = 60
    file_ticket(world)
    outbox.drain()
    row = MailDelivery.objects.get()
    sink.handler.fail_next = 1
    before = timezone.now()
    assert tasks.send_mail_delivery.call(row.pk) == "failed"
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.attempts == 1
    assert "451" in row.last_error
    assert before + timedelta(seconds=59) < row.next_attempt_at < timezone.now() + timedelta(seconds=61)
    # The retry is a task that becomes runnable at next_attempt_at (database backend: one row).
    retry = DBTaskResult.objects.get(task_path="secdesk.notices.tasks.send_mail_delivery", args_kwargs__args=[row.pk])
    assert abs((retry.run_after - row.next_attempt_at).total_seconds()) < 1
    # Too early: the claim refuses; when due, it is sent, with the Message-ID it always had.
    assert delivery.send_delivery(row.pk).status == "skipped"
    MailDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    outcome = delivery.send_delivery(row.pk)
    assert outcome.status == "sent"
    [message] = sink.parsed()
    row.refresh_from_db()
    assert message["Message-ID"] == row.message_id == outcome.message_id
    assert row.attempts == 2


def test_backoff_doubles_and_gives_up(world, sink, settings):
    settings.MAIL_RETRY_BASE_SECONDS = 10
    settings.MAIL_MAX_ATTEMPTS = 3
    assert [delivery.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert delivery.backoff(50) == delivery.MAX_BACKOFF
    file_ticket(world)
    outbox.drain()
    row = MailDelivery.objects.get()
    sink.handler.fail_next = 10
    for attempt in (1, 2, 3):
        MailDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        outcome = delivery.send_delivery(row.pk)
        assert outcome.status == "failed"
        assert (outcome.retry_at is None) == (attempt == 3)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)  # given up
    assert sink.messages == []


def test_a_permanent_refusal_is_a_bounce_and_not_retried(world, sink):
    sink.handler.refuse[ALICE] = "550 5.1.1 no such mailbox"
    file_ticket(world)
    outbox.drain()
    outcome = delivery.send_delivery(MailDelivery.objects.get().pk)
    assert outcome.status == "bounced"
    assert outcome.retry_at is None
    row = MailDelivery.objects.get()
    assert row.status == "bounced"
    assert "550" in row.last_error


def test_two_workers_never_send_the_same_email(world, sink):
    file_ticket(world)
    outbox.drain()
    row = MailDelivery.objects.get()
    assert delivery.send_delivery(row.pk).status == "sent"
    assert delivery.send_delivery(row.pk).status == "skipped"  # a duplicate task finds it claimed/sent
    assert len(sink.messages) == 1
    # A claim by a worker that died is taken back after the timeout, and the mail goes out once, same id.
    file_ticket(world)
    outbox.drain()
    stuck = MailDelivery.objects.filter(status="pending").get()
    MailDelivery.objects.filter(pk=stuck.pk).update(
        status="sending", claim_token="dead-worker", claimed_at=timezone.now() - timedelta(minutes=10), attempts=1
    )
    assert delivery.send_delivery(stuck.pk).status == "sent"  # a stale claim is claimable again
    # …or the schedule's reset puts it back to pending first; either way one message, same Message-ID.
    MailDelivery.objects.filter(pk=stuck.pk).update(
        status="sending", claim_token="dead-worker", claimed_at=timezone.now() - timedelta(minutes=10)
    )
    assert upkeep.reset_stuck()["mail_reset"] == 1
    assert MailDelivery.objects.get(pk=stuck.pk).status == "pending"
    assert delivery.send_delivery(stuck.pk).status == "sent"
    repeated = [m for m in sink.parsed() if m["Message-ID"] == MailDelivery.objects.get(pk=stuck.pk).message_id]
    assert len(repeated) == 2  # sent twice on purpose here (the claim was forced back); same id both times


def test_mail_is_cancelled_for_someone_who_lost_access_before_it_went_out(world, sink):
    file_ticket(world)
    outbox.drain()
    Membership.objects.filter(user__email=ALICE).delete()
    assert delivery.send_delivery(MailDelivery.objects.get().pk).status == "cancelled"
    assert sink.messages == []
    assert "no longer a member" in MailDelivery.objects.get().last_error


def test_the_top_up_enqueues_due_mail_that_lost_its_task(world, monkeypatch):
    enqueued: list[int] = []
    monkeypatch.setattr(tasks, "enqueue_deliveries", lambda ids: enqueued.extend(ids))
    file_ticket(world)
    outbox.drain()
    row = MailDelivery.objects.get()
    assert upkeep.top_up()["mail_enqueued"] == 0  # enqueued a moment ago by the drain
    MailDelivery.objects.filter(pk=row.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    assert upkeep.top_up()["mail_enqueued"] == 1
    assert upkeep.top_up()["mail_enqueued"] == 0  # once per period, however many workers ask
    assert enqueued == [row.pk]


def test_no_smtp_configured_writes_files(world, settings, tmp_path):
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.filebased.EmailBackend", "OPTIONS": {"file_path": tmp_path}}
    }
    ticket: Ticket = file_ticket(world)
    outbox.drain()
    assert [o.status for o in send_all()] == ["sent"]
    written = "".join(p.read_text() for p in tmp_path.iterdir())
    assert f"Subject: [{ticket.confirmation_number}]" in written
