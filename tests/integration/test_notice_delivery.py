# ruff: noqa: RUF001 — Turkish text: its dotless i is meant
"""Customer notice delivery: every recipient once, with a Message-ID fixed in advance, even through a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from secdesk.marketplace.models import Customer, CustomerContact
from secdesk.notices import delivery, services, tasks, upkeep
from secdesk.notices.models import Notice, NoticeRecipient, NoticeStatus
from secdesk.tickets.models import TimelineEvent
from tests.integration.mailsink import SmtpSink
from tests.integration.test_outbox import file_ticket

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def add_contacts(count: int, *, turkish_every: int = 0) -> None:
    """``count`` more contacts spread over the customers contoso-backup's deployments make affected."""
    customers = list(Customer.objects.order_by("id"))
    CustomerContact.objects.bulk_create(
        [
            CustomerContact(
                customer=customers[i % len(customers)],
                email=f"contact{i:05d}@customer{i % len(customers)}.example",
                name=f"Contact {i}",
                language="tr" if turkish_every and i % turkish_every == 0 else "en",
            )
            for i in range(count)
        ]
    )


def approve_notice(world, *, subject: str = "Security notice: disable uploads", body: str = "") -> Notice:
    ticket = file_ticket(world)
    number = ticket.confirmation_number
    services.start_notice(world.actor("alice"), confirmation_number=number)
    services.edit_notice(
        world.actor("alice"),
        confirmation_number=number,
        subject=subject,
        body=body or "Please **disable uploads** until 4.2.1 ships.\n\n<script>alert(1)</script>",
        base_version=1,
    )
    services.approve_notice(world.actor("alice"), confirmation_number=number, version=2)
    return services.approve_notice(world.actor("leo"), confirmation_number=number, version=2)


def run_until_done(notice: Notice, *, rounds: int = 50) -> list[delivery.SliceReport]:
    reports = []
    for _ in range(rounds):
        report = delivery.deliver_notice_slice(notice.pk, seconds=30)
        reports.append(report)
        if report.finished:
            return reports
        if report.run_after:
            NoticeRecipient.objects.filter(notice=notice, status="failed", next_attempt_at__isnull=False).update(
                next_attempt_at=timezone.now() - timedelta(seconds=1)
            )
    raise AssertionError(f"not finished after {rounds} runs: {reports[-3:]}")


@pytest.fixture
def sink(settings):
    settings.NOTICE_RATE_PER_SECOND = 0
    with SmtpSink() as running:
        settings.MAILERS = running.mailers
        yield running


def test_every_recipient_gets_one_message_with_its_fixed_message_id(world, sink, settings):
    settings.NOTICE_BATCH_SIZE = 7  # several batches, each on its own SMTP connection
    add_contacts(40, turkish_every=5)
    notice = approve_notice(world)
    rows = {r.email.lower(): r for r in NoticeRecipient.objects.filter(notice=notice)}
    assert len(rows) == 44
    assert all(r.message_id.startswith(f"<notice-{notice.pk}.") for r in rows.values())
    assert len({r.message_id for r in rows.values()}) == 44

    run_until_done(notice)

    assert sink.per_recipient() == Counter(dict.fromkeys(rows, 1))
    number = notice.ticket.confirmation_number
    for received in sink.messages:
        message = received.message
        row = rows[received.rcpt_tos[0].lower()]
        assert message["Message-ID"] == row.message_id
        assert message["Subject"] == f"[{number}] Security notice: disable uploads"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["References"] == f"<ticket-{number}@secdesk.localhost>"
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "Please **disable uploads** until 4.2.1 ships." in text  # the Markdown as written
        assert "<strong>disable uploads</strong>" in html
        assert "<script>" not in html
        if row.language == "tr":
            assert "güvenlik irtibat kişisi olarak alıyorsunuz" in text
            assert 'lang="tr"' in html
        else:
            assert "You receive this security notice as a security contact of" in text
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT
    assert notice.delivery_started_at is not None
    assert notice.delivery_finished_at is not None
    assert set(NoticeRecipient.objects.filter(notice=notice).values_list("status", flat=True)) == {"sent"}
    assert all(r.sent_at and r.attempts == 1 for r in NoticeRecipient.objects.filter(notice=notice))
    delivered = TimelineEvent.objects.get(ticket=notice.ticket, kind="notice.delivered")
    assert delivered.data == {"sent": 44, "failed": 0, "bounced": 0}
    # Nothing more to do: another run changes nothing and sends nothing.
    assert delivery.deliver_notice_slice(notice.pk).finished
    assert len(sink.messages) == 44


def test_the_prebuilt_fast_path_sends_the_same_message_as_the_slow_one(world):
    import email
    import email.policy

    from secdesk.notices import mail
    from secdesk.notices.models import NoticeVersion

    notice = approve_notice(world, subject="Sicherheitshinweis: Güvenlik bildirimi — uploads")
    version = NoticeVersion.objects.get(notice=notice, number=notice.current_version)
    renderer = mail.NoticeRenderer(notice, version)
    row = NoticeRecipient.objects.filter(notice=notice).order_by("id").first()
    row.language = "tr"
    fast = email.message_from_bytes(renderer.raw(row, "Northwind"), policy=email.policy.default)
    slow = email.message_from_bytes(
        renderer.message(row, "Northwind").message(policy=email.policy.SMTP).as_bytes(), policy=email.policy.default
    )
    for header in ("Subject", "From", "To", "Message-ID", "In-Reply-To", "References", "Auto-Submitted"):
        assert fast[header] == slow[header], header
    assert fast["To"] == row.email
    assert fast["Message-ID"] == row.message_id
    for kind in ("plain", "html"):
        fast_body = fast.get_body(preferencelist=(kind,)).get_content()
        assert fast_body == slow.get_body(preferencelist=(kind,)).get_content()
    # An address the fast path does not handle goes the slow way.
    row.email = "contact@bücher.example"
    assert renderer.raw(row, "Northwind") is None


def test_the_rate_limit_paces_the_messages(world, sink, settings):
    settings.NOTICE_RATE_PER_SECOND = 20
    add_contacts(26)  # 30 recipients at 20/s: at least 1.45 s
    notice = approve_notice(world)
    started = time.monotonic()
    run_until_done(notice)
    elapsed = time.monotonic() - started
    assert len(sink.messages) == 30
    assert elapsed >= 29 / 20 - 0.05
    assert delivery.batch_size() == 100  # 5 s of sending at 20/s, capped by NOTICE_BATCH_SIZE


def test_failures_are_retried_and_bounces_are_final(world, sink, settings):
    settings.MAIL_RETRY_BASE_SECONDS = 30
    add_contacts(6)
    notice = approve_notice(world)
    refused = "contact00003@customer3.example"
    sink.handler.refuse[refused] = "550 5.1.1 mailbox unavailable"
    sink.handler.fail_next = 2
    first = delivery.deliver_notice_slice(notice.pk)
    assert (first.sent, first.failed, first.bounced) == (7, 2, 1)
    assert first.more
    assert first.run_after is not None
    assert first.run_after > timezone.now() + timedelta(seconds=25)  # when the retries are due
    failed = list(NoticeRecipient.objects.filter(notice=notice, status="failed"))
    assert len(failed) == 2
    assert all(r.next_attempt_at and "451" in r.last_error for r in failed)
    bounced = NoticeRecipient.objects.get(notice=notice, status="bounced")
    assert bounced.email == refused
    assert bounced.next_attempt_at is None
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENDING  # not finished: retries pending

    run_until_done(notice)
    counts = Counter(NoticeRecipient.objects.filter(notice=notice).values_list("status", flat=True))
    assert counts == {"sent": 9, "bounced": 1}
    retried = {r.email for r in failed}
    for email in retried:
        messages = sink.to(email)
        assert len(messages) == 1
        assert messages[0]["Message-ID"] == NoticeRecipient.objects.get(notice=notice, email=email).message_id
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENT
    assert TimelineEvent.objects.get(ticket=notice.ticket, kind="notice.delivered").data == {
        "sent": 9,
        "failed": 0,
        "bounced": 1,
    }


def test_a_claim_left_by_a_dead_worker_is_taken_back_with_the_same_message_id(world, sink, settings):
    settings.MAIL_CLAIM_TIMEOUT_SECONDS = 60
    notice = approve_notice(world)
    dead = NoticeRecipient.objects.filter(notice=notice).order_by("id").first()
    NoticeRecipient.objects.filter(pk=dead.pk).update(
        status="sending", claim_token="dead", claimed_at=timezone.now(), attempts=1
    )
    report = delivery.deliver_notice_slice(notice.pk)
    assert report.sent == 3  # the fresh claim is left alone…
    assert report.more
    assert report.run_after > timezone.now() + timedelta(seconds=55)  # …until it is stale
    NoticeRecipient.objects.filter(pk=dead.pk).update(claimed_at=timezone.now() - timedelta(minutes=2))
    assert upkeep.reset_stuck()["notice_reset"] == 1
    run_until_done(notice)
    [message] = sink.to(dead.email)
    assert message["Message-ID"] == dead.message_id
    assert NoticeRecipient.objects.get(pk=dead.pk).attempts == 2


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_share_the_recipients_without_overlap(world, sink, settings):
    settings.NOTICE_BATCH_SIZE = 10
    sink.handler.delay = 0.003
    add_contacts(80)
    notice = approve_notice(world)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_until_done(notice)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    counts = sink.per_recipient()
    assert len(counts) == 84
    assert set(counts.values()) == {1}
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENT
    assert TimelineEvent.objects.filter(ticket=notice.ticket, kind="notice.delivered").count() == 1


def test_approval_enqueues_parallel_delivery_runs_after_commit(world, settings, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    settings.NOTICE_PARALLEL = 3
    with django_capture_on_commit_callbacks(execute=True):
        notice = approve_notice(world)
    queued = DBTaskResult.objects.filter(task_path="secdesk.notices.tasks.deliver_notice")
    assert queued.count() == 3
    assert all(r.args_kwargs["args"] == [notice.pk] and r.priority == tasks.NOTICE_PRIORITY for r in queued)
    assert Notice.objects.get(pk=notice.pk).delivery_heartbeat_at is not None


def test_the_top_up_restarts_a_notice_nobody_works_on(world, settings, monkeypatch):
    restarted: list[int] = []
    monkeypatch.setattr(tasks, "enqueue_notice", lambda notice_id, run_after=None: restarted.append(notice_id))
    notice = approve_notice(world)  # on_commit did not run: as if the process died before enqueueing
    assert upkeep.top_up()["notices_restarted"] == 1
    assert upkeep.top_up()["notices_restarted"] == 0  # its heartbeat was just touched
    Notice.objects.filter(pk=notice.pk).update(delivery_heartbeat_at=timezone.now() - timedelta(hours=1))
    assert upkeep.top_up()["notices_restarted"] == 1
    assert restarted == [notice.pk, notice.pk]


def test_progress_and_undelivered_recipients_through_the_api(world, sink, token_for):
    add_contacts(4)
    notice = approve_notice(world)
    sink.handler.refuse["contact00001@customer1.example"] = "550 no such user"
    run_until_done(notice)
    number = notice.ticket.confirmation_number
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for('rita')}"}
    shown = client.get(f"/api/v1/tickets/{number}/notice", **auth).json()
    assert shown["status"] == "sent"
    assert shown["recipients"] == {"pending": 0, "sending": 0, "sent": 7, "failed": 0, "bounced": 1}
    progress = shown["delivery"]
    assert (progress["total"], progress["sent"], progress["undelivered"], progress["retrying"]) == (8, 7, 1, 0)
    assert progress["finished_at"] is not None
    undelivered = client.get(f"/api/v1/tickets/{number}/notice/recipients?status=undelivered", **auth).json()
    assert [(r["email"], r["status"]) for r in undelivered["items"]] == [("contact00001@customer1.example", "bounced")]
    sent = client.get(f"/api/v1/tickets/{number}/notice/recipients?status=sent", **auth).json()["items"]
    assert all(r["message_id"].startswith("<notice-") and r["sent_at"] for r in sent)
    # The publisher sees the progress, not the customers.
    publisher = {"HTTP_AUTHORIZATION": f"Bearer {token_for('alice')}"}
    assert client.get(f"/api/v1/tickets/{number}/notice", **publisher).json()["delivery"]["sent"] == 7
    assert client.get(f"/api/v1/tickets/{number}/notice/recipients", **publisher).status_code == 403


# --- a worker killed with SIGKILL mid-delivery --------------------------------------------------------


def database_url() -> str:
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    host = conf.get("HOST") or "127.0.0.1"
    return f"postgres://{conf.get('USER') or 'postgres'}{password}@{host}:{conf.get('PORT') or 5432}/{conf['NAME']}"


def start_worker(sink: SmtpSink, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECDESK_SMTP_URL": sink.url,
        "SECDESK_NOTICE_RATE_PER_SECOND": "0",
        "SECDESK_NOTICE_BATCH_SIZE": "25",
        "SECDESK_MAIL_CLAIM_TIMEOUT_SECONDS": "3",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "secdesk.cli.main", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def wait_for(condition, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_only_the_one_in_flight(world, tmp_path):
    add_contacts(296)  # 300 recipients
    log = tmp_path / "worker.log"
    with SmtpSink(delay=0.01) as sink:  # a slow SMTP server: ~10 ms per message
        notice = approve_notice(world)  # commits; delivery is enqueued (database task backend)
        rows = {r.email.lower(): r.message_id for r in NoticeRecipient.objects.filter(notice=notice)}
        assert len(rows) == 300

        first = start_worker(sink, log)
        try:
            wait_for(lambda: len(sink.messages) >= 81, 60, "80 notices before the kill", log)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        at_kill = Counter(NoticeRecipient.objects.filter(notice=notice).values_list("status", flat=True))
        assert first.returncode == -signal.SIGKILL
        assert at_kill["sent"] >= 79
        assert at_kill["sent"] < 300, "the worker finished before it was killed: nothing was tested"
        in_flight = set(NoticeRecipient.objects.filter(notice=notice, status="sending").values_list("email", flat=True))

        second = start_worker(sink, log)
        try:
            wait_for(
                lambda: Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENT, 90, "the notice to be sent", log
            )
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(20)
            except subprocess.TimeoutExpired:
                second.kill()

        statuses = Counter(NoticeRecipient.objects.filter(notice=notice).values_list("status", flat=True))
        assert statuses == {"sent": 300}
        # (The worker's schedule also drains the outbox: the receipt of the ticket goes to Alice.)
        notices = [m for m in sink.messages if m.message["Message-ID"].startswith("<notice-")]
        counts = Counter(r.lower() for m in notices for r in m.rcpt_tos)
        assert set(counts) == set(rows), "a recipient was skipped"
        repeated = {email for email, n in counts.items() if n > 1}
        assert len(repeated) <= 1, f"more than the one message in flight was sent twice: {sorted(repeated)}"
        assert all(counts[email] == 2 for email in repeated)
        assert repeated <= {e.lower() for e in in_flight}
        for received in notices:
            # Every message — a repeat included — carries the Message-ID fixed for its recipient.
            assert received.message["Message-ID"] == rows[received.rcpt_tos[0].lower()]
        assert len(notices) == 300 + len(repeated)
