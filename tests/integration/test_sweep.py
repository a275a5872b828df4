"""The breach sweep: missed deadlines marked once, recorded once, escalated to the leads once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.utils import timezone

from secdesk.accounts.models import User
from secdesk.domain.intake import Answers
from secdesk.tickets import audit
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Breach, PublisherRequest, Ticket, TimelineEvent
from secdesk.triage import services

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def file_ticket(world) -> Ticket:
    answers = Answers(
        category="vulnerability",
        offers=("contoso-backup",),
        description="Remote code execution in the upload endpoint.",
        cvss_vectors=(CRITICAL,),
        mitigation="workaround",
        remediation_steps="Disable uploads.",
    )
    ticket, _ = ticket_services.create_ticket(world.actor("alice"), answers=answers, submit=True)
    return Ticket.objects.get(pk=ticket.pk)


def acknowledge(world, ticket: Ticket) -> Ticket:
    services.acknowledge(
        world.actor("rita"), confirmation_number=ticket.confirmation_number, priority="P1", severity="critical"
    )
    return Ticket.objects.get(pk=ticket.pk)


def ask(world, ticket: Ticket, *, due_in: timedelta = timedelta(days=2)) -> PublisherRequest:
    return services.create_request(
        world.actor("rita"),
        confirmation_number=ticket.confirmation_number,
        kind="information",
        description="Which versions are affected?",
        due_at=timezone.now() + due_in,
    )


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def sweep_events(ticket: Ticket) -> list[TimelineEvent]:
    return list(
        TimelineEvent.objects.filter(ticket_id=ticket.pk, kind__in=["sla.breached", "request.overdue"]).order_by("seq")
    )


def leads() -> list[str]:
    return sorted(User.objects.filter(staff_role="lead", is_active=True).values_list("email", flat=True))


@pytest.fixture
def two_leads(world) -> list[str]:
    """A second active lead, and a former lead who must not be escalated to."""
    User.objects.create_user("lena@marketplace.example", "x" * 20, full_name="Lena Lead", staff_role="lead")
    gone = User.objects.create_user("old@marketplace.example", "x" * 20, full_name="Old Lead", staff_role="lead")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    expected = ["lena@marketplace.example", "leo@marketplace.example"]
    assert leads() == expected
    return expected


# --- what is breached -------------------------------------------------------------


@pytest.mark.django_db
def test_a_missed_acknowledgement_is_recorded_once_and_escalated_to_the_leads(world, two_leads):
    ticket = file_ticket(world)
    due = ticket.acknowledgement_due
    assert due is not None

    early = services.sweep(now=due - timedelta(seconds=1))
    assert early.total == 0
    assert not Breach.objects.exists()

    report = services.sweep(now=due + timedelta(minutes=1))
    assert (report.acknowledgement, report.remediation, report.request) == (1, 0, 0)
    assert report.escalated_to == two_leads
    stored = reload(ticket)
    assert stored.breached is True
    assert stored.ack_breached_at == due + timedelta(minutes=1)
    [breach] = Breach.objects.filter(ticket=ticket)
    assert (breach.key, breach.kind, breach.due_at) == ("acknowledgement", "acknowledgement", due)
    assert breach.escalated_at is not None
    [event] = sweep_events(ticket)
    assert event.kind == "sla.breached"
    assert event.data == {"clock": "acknowledgement", "due_at": due.isoformat(), "escalated_to": two_leads}
    assert event.public is False
    assert event.actor_label == "system"

    again = services.sweep(now=due + timedelta(days=3))
    assert again.total == 0
    assert Breach.objects.count() == 1
    assert len(sweep_events(ticket)) == 1
    assert audit.verify_all().broken == {}


@pytest.mark.django_db
def test_a_missed_remediation_is_recorded_once(world):
    ticket = acknowledge(world, file_ticket(world))
    due = ticket.remediation_due
    assert due == ticket.acknowledged_at + timedelta(days=7)

    assert services.sweep(now=due - timedelta(seconds=1)).total == 0
    report = services.sweep(now=due + timedelta(seconds=1))
    assert (report.acknowledgement, report.remediation, report.request) == (0, 1, 0)
    stored = reload(ticket)
    assert stored.remediation_breached_at is not None
    assert stored.breached
    assert stored.ack_breached_at is None  # it was acknowledged in time
    [event] = sweep_events(ticket)
    assert event.data == {"clock": "remediation", "due_at": due.isoformat(), "escalated_to": leads()}
    assert services.sweep(now=due + timedelta(days=30)).total == 0
    assert list(Breach.objects.values_list("key", flat=True)) == ["remediation"]


@pytest.mark.django_db
def test_an_overdue_request_is_recorded_while_the_paused_remediation_clock_is_not(world):
    ticket = acknowledge(world, file_ticket(world))
    services.transition(world.actor("rita"), confirmation_number=ticket.confirmation_number, action="start_assessment")
    request = ask(world, ticket, due_in=timedelta(days=2))
    paused = reload(ticket)
    assert paused.remediation_paused_at is not None

    # Far beyond the remediation due date too: a paused clock is never breached.
    now = timezone.now() + timedelta(days=60)
    report = services.sweep(now=now)
    assert (report.acknowledgement, report.remediation, report.request) == (0, 0, 1)
    stored = reload(ticket)
    assert stored.remediation_breached_at is None
    assert stored.breached is True
    assert PublisherRequest.objects.get(pk=request.pk).breached_at == now
    [breach] = Breach.objects.all()
    assert (breach.key, breach.kind) == (f"request:{request.public_id}", "request")
    [event] = sweep_events(ticket)
    assert event.kind == "request.overdue"
    assert event.public is True  # the publisher sees what it owes
    assert event.data == {
        "request": request.public_id,
        "kind": "information",
        "due_at": request.due_at.isoformat(),
        "escalated_to": leads(),
    }
    assert services.sweep(now=now + timedelta(days=1)).total == 0
    assert Breach.objects.count() == 1


@pytest.mark.django_db
def test_closed_resolved_and_answered_work_is_not_breached(world):
    withdrawn = acknowledge(world, file_ticket(world))
    services.withdraw(world.actor("alice"), confirmation_number=withdrawn.confirmation_number)
    resolved = acknowledge(world, file_ticket(world))
    rita = world.actor("rita")
    services.transition(rita, confirmation_number=resolved.confirmation_number, action="start_assessment")
    services.transition(rita, confirmation_number=resolved.confirmation_number, action="resolve", reason="Fixed.")
    unacknowledged_closed = file_ticket(world)
    services.transition(
        rita,
        confirmation_number=unacknowledged_closed.confirmation_number,
        action="close",
        close_reason="not_a_security_issue",
    )
    # Still open, with its request answered: only its remediation clock is missed.
    answered = acknowledge(world, file_ticket(world))
    request = ask(world, answered)
    services.answer_request(world.actor("alice"), request_id=request.public_id, response="done")

    report = services.sweep(now=timezone.now() + timedelta(days=400))
    assert (report.acknowledgement, report.remediation, report.request) == (0, 1, 0)
    assert list(Breach.objects.values_list("ticket_id", "key")) == [(answered.pk, "remediation")]
    assert list(Ticket.objects.filter(breached=True).values_list("pk", flat=True)) == [answered.pk]
    assert PublisherRequest.objects.get(pk=request.pk).breached_at is None


@pytest.mark.django_db
def test_a_sweep_given_a_local_time_keeps_the_timeline_chains_intact(world):
    ticket = file_ticket(world)
    paris = (ticket.acknowledgement_due + timedelta(hours=1)).astimezone(ZoneInfo("Europe/Paris"))
    assert services.sweep(now=paris).acknowledgement == 1
    assert reload(ticket).ack_breached_at == paris
    report = audit.verify_all()
    assert report.broken == {}
    # Later events chain on from the sweep's event.
    services.acknowledge(
        world.actor("rita"), confirmation_number=ticket.confirmation_number, priority="P1", severity="critical"
    )
    assert audit.verify_all().broken == {}


# --- the command and concurrent sweeps -----------------------------------------------


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def secdesk(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url()}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "secdesk.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_the_sla_sweep_command_prints_what_it_marked(world):
    late = file_ticket(world)
    on_time = file_ticket(world)
    Ticket.objects.filter(pk=late.pk).update(acknowledgement_due=timezone.now() - timedelta(minutes=5))

    first = secdesk("sla", "sweep")
    assert first.returncode == 0, first.stderr
    assert (
        first.stdout.strip()
        == "breaches marked: acknowledgement 1, remediation 0, request 0; escalated to leo@marketplace.example"
    )
    assert reload(late).breached
    assert not reload(on_time).breached
    assert [e.kind for e in sweep_events(late)] == ["sla.breached"]

    second = secdesk("sla", "sweep")
    assert second.returncode == 0, second.stderr
    assert "acknowledgement 0, remediation 0, request 0" in second.stdout
    assert Breach.objects.count() == 1

    verify = secdesk("audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "checked 2 tickets" in verify.stdout
    assert "all chains intact" in verify.stdout


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_never_record_a_breach_twice(world):
    tickets = [file_ticket(world) for _ in range(30)]
    acknowledged = [acknowledge(world, t) for t in tickets[:10]]
    for ticket in acknowledged[:5]:
        ask(world, ticket)  # paused remediation, overdue request
    now = timezone.now() + timedelta(days=60)
    expected = {"acknowledgement": 20, "remediation": 5, "request": 5}

    start = threading.Barrier(2)
    reports = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            reports.append(services.sweep(now=now))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(reports) == 2

    assert sum(r.acknowledgement for r in reports) == expected["acknowledgement"]
    assert sum(r.remediation for r in reports) == expected["remediation"]
    assert sum(r.request for r in reports) == expected["request"]
    assert Breach.objects.count() == sum(expected.values())
    for kind, count in expected.items():
        assert Breach.objects.filter(kind=kind).count() == count
    for ticket in tickets:
        got = [e.data.get("clock", "request") for e in sweep_events(ticket)]
        assert len(got) == len(set(got)), (ticket.confirmation_number, got)
    assert TimelineEvent.objects.filter(kind__in=["sla.breached", "request.overdue"]).count() == 30
    assert audit.verify_all().broken == {}
    assert services.sweep(now=now).total == 0
