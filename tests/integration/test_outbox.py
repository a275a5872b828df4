"""The outbox drain: timeline events → one MailDelivery per recipient, exactly once, sending enqueued after commit."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from secdesk.accounts.models import Membership, Organization, User
from secdesk.domain.intake import Answers
from secdesk.domain.timeline import verify_chain
from secdesk.notices import outbox, tasks
from secdesk.notices.models import MailDelivery, OutboxCursor
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Ticket, TimelineEvent
from secdesk.tickets.timeline import as_stored
from secdesk.triage import services as triage
from tests.integration.mailsink import SmtpSink

pytestmark = pytest.mark.django_db

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


@pytest.fixture
def people(world):
    """Contoso gets a second member (Carol); Fabrikam's Bob must never hear of Contoso's tickets."""
    carol = User.objects.create_user("carol@contoso.example", "x" * 16, full_name="Carol Contoso", language="tr")
    Membership.objects.create(user=carol, organization=Organization.objects.get(slug="contoso"))
    world.users["carol"] = carol
    return world


def file_ticket(world, who: str = "alice") -> Ticket:
    answers = Answers(
        category="vulnerability",
        offers=("contoso-backup",),
        description="Remote code execution in the upload endpoint.",
        cvss_vectors=(CRITICAL,),
        mitigation="workaround",
        remediation_steps="Disable uploads.",
        customer_message="Please disable uploads.",
    )
    ticket, created = ticket_services.create_ticket(world.actor(who), answers=answers, submit=True)
    assert created
    return ticket


def deliveries(ticket: Ticket, kind: str | None = None) -> list[tuple[str, str]]:
    rows = MailDelivery.objects.filter(ticket=ticket).order_by("id")
    if kind:
        rows = rows.filter(kind=kind)
    return [(d.kind, d.email) for d in rows]


def recipients(ticket: Ticket, kind: str) -> set[str]:
    return {email for k, email in deliveries(ticket) if k == kind}


CONTOSO = {"alice@contoso.example", "carol@contoso.example"}


# --- who is mailed about what ---------------------------------------------------------------------


def test_a_submission_mails_a_receipt_to_the_submitter_and_the_organisations_members(people):
    ticket = file_ticket(people)
    report = outbox.drain()
    assert report.events == 2  # ticket.created (not mailed) and ticket.submitted
    assert report.deliveries == 2
    assert deliveries(ticket) == [
        ("ticket.submitted", "alice@contoso.example"),
        ("ticket.submitted", "carol@contoso.example"),
    ]
    assert report.cursor == TimelineEvent.objects.order_by("-id").first().pk


def test_each_mailed_kind_reaches_the_right_people_and_nobody_else(people):
    ticket = file_ticket(people)
    number = ticket.confirmation_number
    rita, leo, alice = people.actor("rita"), people.actor("leo"), people.actor("alice")
    triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
    triage.assess(rita, confirmation_number=number, outcome="confirmed", summary="Reproduced on 4.2.")
    ticket_services.post_message(rita, confirmation_number=number, body="Can you share a patch date?")
    ticket_services.post_message(rita, confirmation_number=number, body="Internal: looks bad.", internal=True)
    ticket_services.post_message(alice, confirmation_number=number, body="Patch on Friday.")
    triage.create_request(
        rita,
        confirmation_number=number,
        kind="information",
        description="Which versions are affected?",
        due_at=timezone.now() + timedelta(days=3),
    )
    triage.take_offer_action(
        leo,
        offer="contoso-backup",
        action="suspend",
        reason="Actively exploited",
        review_date=date.today() + timedelta(days=7),
        confirmation_number=number,
    )
    outbox.drain()  # the drain runs every 2 s: recipients are who they are then
    triage.assign(rita, confirmation_number=number, assignee="me")  # internal: mails nobody
    outbox.drain()

    assert recipients(ticket, "ticket.submitted") == CONTOSO
    assert recipients(ticket, "ticket.acknowledged") == CONTOSO
    assert recipients(ticket, "ticket.assessed") == CONTOSO
    assert recipients(ticket, "request.created") == CONTOSO
    assert recipients(ticket, "offer.suspend") == CONTOSO
    # A marketplace message goes to the publisher; the publisher's goes to every responder and lead
    # (nobody was assigned yet), never to its author; internal notes and assignments mail nobody.
    messages = {d.email for d in MailDelivery.objects.filter(kind="message.created")}
    to_publisher = {e for e in messages if e.endswith("contoso.example")}
    to_staff = {e for e in messages if e.endswith("marketplace.example")}
    assert to_publisher == CONTOSO
    assert to_staff == {"rita@marketplace.example", "leo@marketplace.example"}
    assert not MailDelivery.objects.filter(kind__in=["note.added", "ticket.assigned", "ticket.created"]).exists()
    assert not MailDelivery.objects.filter(email__in=["bob@fabrikam.example", "audrey@marketplace.example"]).exists()

    # Once assigned, the publisher's messages go to the assignee only.
    ticket_services.post_message(alice, confirmation_number=number, body="Patch is out.")
    outbox.drain()
    last = MailDelivery.objects.filter(kind="message.created").order_by("-event_id").first()
    assert {d.email for d in MailDelivery.objects.filter(event_id=last.event_id)} == {"rita@marketplace.example"}


def test_breaches_and_overdue_requests_are_mailed_to_the_leads_only(people):
    ticket = file_ticket(people)
    triage.create_request(
        people.actor("rita"),
        confirmation_number=ticket.confirmation_number,
        kind="information",
        description="Versions?",
        due_at=timezone.now() + timedelta(hours=1),
    )
    # Both deadlines pass.
    later = timezone.now() + timedelta(days=30)
    report = triage.sweep(later)
    assert report.acknowledgement == 1
    assert report.request == 1
    outbox.drain()
    assert recipients(ticket, "sla.breached") == {"leo@marketplace.example"}
    assert recipients(ticket, "request.overdue") == {"leo@marketplace.example"}


def test_an_internal_event_never_mails_a_publisher(people):
    ticket = file_ticket(people)
    public = TimelineEvent.objects.get(ticket=ticket, kind="ticket.submitted")
    assert {u.email for u in outbox.recipients_for(public, ticket)} == CONTOSO
    public.public = False  # the same event, had it been internal
    assert outbox.recipients_for(public, ticket) == []
    escalation = TimelineEvent(
        ticket=ticket, kind="sla.breached", public=False, data={"escalated_to": ["alice@contoso.example"]}
    )
    assert outbox.recipients_for(escalation, ticket) == []  # only leads, and never a publisher


def test_a_former_member_is_not_mailed(people):
    Membership.objects.filter(user=people.users["carol"]).delete()
    ticket = file_ticket(people)
    outbox.drain()
    assert recipients(ticket, "ticket.submitted") == {"alice@contoso.example"}


# --- exactly once ---------------------------------------------------------------------------------


def test_draining_twice_creates_nothing_twice_and_keeps_the_chain(people):
    ticket = file_ticket(people)
    first = outbox.drain()
    again = outbox.drain()
    assert first.deliveries == 2
    assert again.events == 0
    assert again.deliveries == 0
    # Even from the start again (an operator reset the cursor), the unique constraint holds.
    OutboxCursor.objects.filter(name=outbox.CURSOR_NAME).update(last_event_id=0)
    replay = outbox.drain()
    assert replay.events >= 2
    assert replay.deliveries == 0
    assert MailDelivery.objects.count() == 2
    chain = [as_stored(e) for e in TimelineEvent.objects.filter(ticket=ticket).order_by("seq")]
    assert verify_chain(chain) == []


def test_the_drain_reads_in_batches_and_catches_up(people):
    for _ in range(3):
        file_ticket(people)
    first = outbox.drain(limit=4)
    assert first.events == 4
    total = outbox.drain_all(limit=4)
    assert total["events"] == 2
    assert MailDelivery.objects.count() == 3 * 2


def test_sending_is_enqueued_only_after_commit(people, monkeypatch, django_capture_on_commit_callbacks):
    enqueued: list[list[int]] = []
    monkeypatch.setattr(tasks, "enqueue_deliveries", lambda ids: enqueued.append(list(ids)))
    file_ticket(people)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = outbox.drain()
    assert enqueued == []  # nothing before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [list(MailDelivery.objects.order_by("id").values_list("id", flat=True))]
    assert report.deliveries == 2

    # A drain inside a transaction that rolls back leaves neither rows nor tasks.
    file_ticket(people)
    before = MailDelivery.objects.count()
    cursor = OutboxCursor.objects.get(name=outbox.CURSOR_NAME).last_event_id
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rolled_back_drain()
    assert callbacks == []
    assert MailDelivery.objects.count() == before
    assert OutboxCursor.objects.get(name=outbox.CURSOR_NAME).last_event_id == cursor


def rolled_back_drain() -> None:
    """A drain inside a transaction that is then rolled back."""

    class RolledBack(Exception):
        pass

    try:
        with transaction.atomic():
            outbox.drain()
            raise RolledBack
    except RolledBack:
        pass


def test_an_event_that_commits_late_below_the_cursor_is_not_lost(people):
    """A gap left by an uncommitted insert is looked for again until the event shows up."""
    first = file_ticket(people)
    second = file_ticket(people)
    late = TimelineEvent.objects.get(ticket=first, kind="ticket.submitted")
    saved = {f.attname: getattr(late, f.attname) for f in TimelineEvent._meta.concrete_fields}
    late.delete()  # as if its transaction had not committed yet when the drain ran
    report = outbox.drain()
    assert str(saved["id"]) in OutboxCursor.objects.get(name=outbox.CURSOR_NAME).gaps
    assert report.gaps >= 1
    assert recipients(second, "ticket.submitted") == CONTOSO
    assert recipients(first, "ticket.submitted") == set()
    TimelineEvent.objects.create(**saved)  # it commits, with its old (lower) id
    again = outbox.drain()
    assert again.deliveries == 2
    assert recipients(first, "ticket.submitted") == CONTOSO
    # (On PostgreSQL, ids other tests drew and rolled back are gaps too, until they expire.)
    assert str(saved["id"]) not in OutboxCursor.objects.get(name=outbox.CURSOR_NAME).gaps


def test_gaps_expire(people):
    cursor = OutboxCursor.objects.get(name=outbox.CURSOR_NAME)
    old = (timezone.now() - outbox.GAP_TTL - timedelta(seconds=1)).isoformat()
    cursor.gaps = {"999999": old}
    cursor.save()
    outbox.drain()
    assert OutboxCursor.objects.get(name=outbox.CURSOR_NAME).gaps == {}


@pytest.mark.django_db(transaction=True)
def test_only_one_worker_drains_at_a_time(people):
    """While one drain holds the cursor, another returns at once (PostgreSQL: SKIP LOCKED; SQLite: it waits)."""
    file_ticket(people)
    OutboxCursor.objects.get_or_create(name=outbox.CURSOR_NAME)
    holding = threading.Event()
    release = threading.Event()
    reports = []

    def hold() -> None:
        try:
            with transaction.atomic():
                list(OutboxCursor.objects.select_for_update().filter(name=outbox.CURSOR_NAME))
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    try:
        if connection.vendor == "postgresql":
            reports.append(outbox.drain())
            assert reports[0].busy
            assert MailDelivery.objects.count() == 0
    finally:
        release.set()
        holder.join(10)
    assert outbox.drain().deliveries == 2
    assert outbox.drain().deliveries == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_create_each_delivery_once(people):
    for _ in range(5):
        file_ticket(people)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(5):
                outbox.drain(limit=3)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    outbox.drain_all()
    assert MailDelivery.objects.count() == 5 * 2
    assert MailDelivery.objects.values("event", "recipient").distinct().count() == 5 * 2


# --- the schedule and a real worker ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_schedule_drains_and_a_real_worker_sends(people, settings):
    from secdesk.schedule import SCHEDULE, Scheduler

    with SmtpSink() as sink:
        settings.MAILERS = sink.mailers
        ticket = file_ticket(people)
        scheduler = Scheduler(SCHEDULE, worker_id="test-a")
        other = Scheduler(SCHEDULE, worker_id="test-b")
        ran = scheduler.run_due()
        assert "outbox.drain" in ran
        assert "sla.sweep" in ran
        assert other.run_due() == []  # the same tick is not run twice
        call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
        received = sink.to("alice@contoso.example")
        assert len(received) == 1
        assert received[0]["Subject"].startswith(f"[{ticket.confirmation_number}] ")
        assert set(MailDelivery.objects.values_list("status", flat=True)) == {"sent"}
