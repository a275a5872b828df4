"""Requests to the publisher and the remediation clock they pause.

The clock is moved by hand where time has to pass: ``remediation_paused_at``
is set in the past in the database before the answer comes in, and the due
moment must move by exactly the time spent paused.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from secdesk.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.intake import Answers
from secdesk.marketplace.models import Offer
from secdesk.tickets import audit
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import NO_DEADLINE, PublisherRequest, Ticket, TimelineEvent
from secdesk.triage import services

pytestmark = pytest.mark.django_db

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
ONE_SECOND = timedelta(seconds=1)


def file_ticket(world, *, offers: tuple[str, ...] = ("contoso-backup",), who: str = "alice") -> Ticket:
    answers = Answers(
        category="vulnerability",
        offers=offers,
        description="Remote code execution in the upload endpoint.",
        cvss_vectors=(CRITICAL,),
        mitigation="workaround",
        remediation_steps="Disable uploads.",
    )
    ticket, _ = ticket_services.create_ticket(world.actor(who), answers=answers, submit=True)
    return ticket


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def kinds(ticket: Ticket) -> list[str]:
    return list(TimelineEvent.objects.filter(ticket_id=ticket.pk).order_by("seq").values_list("kind", flat=True))


def last_event(ticket: Ticket, kind: str) -> TimelineEvent:
    return TimelineEvent.objects.filter(ticket_id=ticket.pk, kind=kind).order_by("-seq").first()


def field_names(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [e.field for e in exc.value.errors]


def later(**delta: float):
    return timezone.now() + timedelta(**delta)


@pytest.fixture
def assessing(world) -> Ticket:
    """A critical ticket, acknowledged (remediation due in 7 days) and being assessed."""
    ticket = file_ticket(world)
    rita = world.actor("rita")
    services.acknowledge(rita, confirmation_number=ticket.confirmation_number, priority="P1", severity="critical")
    services.transition(rita, confirmation_number=ticket.confirmation_number, action="start_assessment")
    ticket = reload(ticket)
    assert ticket.status == "assessing"
    assert ticket.remediation_due == ticket.acknowledged_at + timedelta(days=7)
    assert ticket.due_at == ticket.remediation_due
    return ticket


def ask(world, ticket: Ticket, *, kind: str = "information", offer: str | None = None, who: str = "rita", **extra):
    return services.create_request(
        world.actor(who),
        confirmation_number=ticket.confirmation_number,
        kind=kind,
        description=extra.pop("description", "Which versions are affected?"),
        due_at=extra.pop("due_at", later(days=5)),
        offer=offer,
    )


def answer(world, request: PublisherRequest, response: str = "done", *, who: str = "alice", **extra):
    return services.answer_request(world.actor(who), request_id=request.public_id, response=response, **extra)


def pause_since(ticket: Ticket, moment) -> None:
    """Pretend the clock was paused at ``moment``."""
    assert Ticket.objects.filter(pk=ticket.pk, remediation_paused_at__isnull=False).update(remediation_paused_at=moment)


# --- creating requests ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "offer"),
    [
        ("information", None),
        ("affected_versions", None),
        ("modify_offer", "contoso-backup"),
        ("remove_offer", "contoso-backup"),
        ("approve_notice", None),
    ],
)
def test_each_kind_of_request_can_be_asked(world, assessing, kind, offer):
    due = later(days=3)
    request = ask(world, assessing, kind=kind, offer=offer, due_at=due)
    stored = PublisherRequest.objects.get(pk=request.pk)
    assert (stored.kind, stored.status, stored.due_at) == (kind, "open", due)
    assert (stored.offer.slug if stored.offer else None) == offer
    assert stored.created_by == world.users["rita"]
    event = last_event(assessing, "request.created")
    assert event.data["request"] == request.public_id
    assert event.data["kind"] == kind
    assert event.public
    expected_offer_status = "modification_requested" if kind == "modify_offer" else "live"
    assert Offer.objects.get(slug="contoso-backup").status == expected_offer_status


def test_offer_requests_name_an_offer_of_the_ticket(world, assessing):
    for kind in ("modify_offer", "remove_offer"):
        with pytest.raises(InvalidInput) as missing:
            ask(world, assessing, kind=kind)
        assert field_names(missing) == ["offer"]
        for foreign in ("contoso-vault", "fabrikam-gateway", "no-such-offer"):
            with pytest.raises(InvalidInput) as wrong:
                ask(world, assessing, kind=kind, offer=foreign)
            assert field_names(wrong) == ["offer"]
    assert not PublisherRequest.objects.exists()
    assert reload(assessing).status == "assessing"


def test_a_request_is_due_in_the_future_with_a_time_zone(world, assessing):
    for due, fields in (
        (later(hours=-1), ["due_at"]),
        (timezone.now(), ["due_at"]),
        (later(days=1).replace(tzinfo=None), ["due_at"]),
    ):
        with pytest.raises(InvalidInput) as exc:
            ask(world, assessing, due_at=due)
        assert field_names(exc) == fields
    with pytest.raises(InvalidInput) as exc:
        ask(world, assessing, kind="favour", description=" ")
    assert sorted(field_names(exc)) == ["description", "kind"]
    assert not PublisherRequest.objects.exists()


def test_asking_moves_an_assessing_ticket_to_awaiting_publisher_and_pauses_the_clock(world, assessing):
    before = timezone.now()
    request = ask(world, assessing)
    stored = reload(assessing)
    assert stored.status == "awaiting_publisher"
    assert before <= stored.remediation_paused_at <= timezone.now()
    assert stored.due_at == NO_DEADLINE
    assert stored.remediation_due == assessing.remediation_due  # frozen, not moved yet
    assert kinds(assessing)[-2:] == ["request.created", "ticket.awaiting_publisher"]
    assert last_event(assessing, "ticket.awaiting_publisher").data["request"] == request.public_id

    # A second request while waiting changes neither the state nor the pause.
    ask(world, assessing, kind="affected_versions")
    again = reload(assessing)
    assert again.status == "awaiting_publisher"
    assert again.remediation_paused_at == stored.remediation_paused_at


def test_only_staff_ask_and_other_publishers_do_not_see_the_ticket(world, assessing):
    with pytest.raises(PermissionDenied):
        ask(world, assessing, who="alice")
    with pytest.raises(PermissionDenied):
        ask(world, assessing, who="audrey")
    with pytest.raises(NotFound):
        ask(world, assessing, who="bob")
    assert not PublisherRequest.objects.exists()


def test_closed_tickets_take_no_requests(world, assessing):
    services.transition(
        world.actor("rita"),
        confirmation_number=assessing.confirmation_number,
        action="close",
        close_reason="not_reproducible",
    )
    with pytest.raises(Conflict):
        ask(world, assessing)


# --- answers ----------------------------------------------------------------------


def test_done_hands_the_ball_back_and_pushes_remediation_back_by_the_pause(world, assessing):
    request = ask(world, assessing)
    pause_since(assessing, timezone.now() - timedelta(days=3, hours=2))

    answered = answer(world, request, "done", text="Only 4.2 is affected.")

    assert (answered.status, answered.answer) == ("done", "Only 4.2 is affected.")
    assert answered.answered_by == world.users["alice"]
    stored = reload(assessing)
    assert stored.status == "assessing"
    assert stored.remediation_paused_at is None
    paused = timedelta(days=3, hours=2)
    assert abs(stored.remediation_paused_seconds - paused.total_seconds()) <= 1
    expected_due = assessing.acknowledged_at + timedelta(days=7) + paused
    assert abs(stored.remediation_due - expected_due) <= ONE_SECOND
    assert stored.due_at == stored.remediation_due
    assert kinds(assessing)[-2:] == ["request.done", "ticket.publisher_responded"]
    assert last_event(assessing, "request.done").data["text"] == "Only 4.2 is affected."


def test_pauses_add_up(world, assessing):
    first = ask(world, assessing)
    pause_since(assessing, timezone.now() - timedelta(hours=5))
    answer(world, first)
    second = ask(world, assessing)
    pause_since(assessing, timezone.now() - timedelta(hours=7))
    answer(world, second, "declined", reason="Not possible before the release.")
    stored = reload(assessing)
    assert abs(stored.remediation_paused_seconds - 12 * 3600) <= 2
    expected_due = assessing.acknowledged_at + timedelta(days=7, hours=12)
    assert abs(stored.remediation_due - expected_due) <= 2 * ONE_SECOND


def test_the_clock_stays_paused_while_any_request_is_open(world, assessing):
    first = ask(world, assessing)
    second = ask(world, assessing, kind="affected_versions")
    pause_since(assessing, timezone.now() - timedelta(days=1))
    answer(world, first)
    waiting = reload(assessing)
    assert waiting.status == "awaiting_publisher"
    assert waiting.remediation_paused_at is not None
    assert waiting.due_at == NO_DEADLINE
    answer(world, second)
    done = reload(assessing)
    assert done.status == "assessing"
    assert done.remediation_paused_at is None
    assert abs(done.remediation_due - (assessing.remediation_due + timedelta(days=1))) <= ONE_SECOND


def test_declining_needs_a_reason(world, assessing):
    request = ask(world, assessing)
    with pytest.raises(InvalidInput) as exc:
        answer(world, request, "declined", reason="  ")
    assert field_names(exc) == ["reason"]
    with pytest.raises(InvalidInput) as unknown:
        answer(world, request, "maybe")
    assert field_names(unknown) == ["response"]
    assert PublisherRequest.objects.get(pk=request.pk).status == "open"

    declined = answer(world, request, "declined", reason="The offer cannot be changed this week.")
    assert (declined.status, declined.decline_reason) == ("declined", "The offer cannot be changed this week.")
    assert reload(assessing).status == "assessing"
    assert last_event(assessing, "request.declined").data["reason"] == "The offer cannot be changed this week."


def test_an_extension_needs_a_reason_and_a_later_date_and_hands_the_ball_to_the_marketplace(world, assessing):
    due = later(days=2)
    request = ask(world, assessing, due_at=due)
    paused_at = reload(assessing).remediation_paused_at
    cases = [
        ({"reason": "", "proposed_due": later(days=9)}, ["reason"]),
        ({"reason": "Release next week."}, ["proposed_due"]),
        ({"reason": "Release next week.", "proposed_due": later(days=9).replace(tzinfo=None)}, ["proposed_due"]),
        ({"reason": "Release next week.", "proposed_due": due}, ["proposed_due"]),
        ({"reason": "Release next week.", "proposed_due": due - timedelta(hours=1)}, ["proposed_due"]),
    ]
    for kwargs, fields in cases:
        with pytest.raises(InvalidInput) as exc:
            answer(world, request, "extension", **kwargs)
        assert field_names(exc) == fields, kwargs
    stored = PublisherRequest.objects.get(pk=request.pk)
    assert (stored.status, stored.due_at) == ("open", due)
    assert reload(assessing).remediation_paused_at == paused_at

    proposed = later(days=9)
    asked = answer(world, request, "extension", reason="Release next week.", proposed_due=proposed)
    assert asked.status == "extension_requested"
    assert (asked.extension_reason, asked.extension_proposed_due) == ("Release next week.", proposed)
    assert asked.due_at == due  # not moved until granted
    ticket = reload(assessing)
    assert ticket.remediation_paused_at is None  # the ball is with the marketplace: the clock runs
    assert ticket.status == "assessing"
    assert ticket.due_at == ticket.remediation_due
    assert last_event(assessing, "request.extension_requested").data["proposed_due"] == proposed.isoformat()


def test_a_granted_extension_moves_the_due_date_and_pauses_again(world, assessing):
    request = ask(world, assessing, due_at=later(days=2))
    proposed = later(days=9)
    answer(world, request, "extension", reason="Release next week.", proposed_due=proposed)
    with pytest.raises(InvalidInput) as bad:
        services.decide_extension(world.actor("rita"), request_id=request.public_id, decision="maybe")
    assert field_names(bad) == ["decision"]

    granted = services.decide_extension(world.actor("rita"), request_id=request.public_id, decision="granted")

    assert (granted.status, granted.due_at, granted.extension_decision) == ("open", proposed, "granted")
    ticket = reload(assessing)
    assert ticket.remediation_paused_at is not None
    assert ticket.due_at == NO_DEADLINE
    event = last_event(assessing, "request.extension_granted")
    assert event.data["due_at"] == proposed.isoformat()
    with pytest.raises(Conflict):
        services.decide_extension(world.actor("rita"), request_id=request.public_id, decision="granted")
    # Still owed by the publisher: it can be answered now.
    assert answer(world, request).status == "done"
    assert reload(assessing).remediation_paused_at is None


def test_a_refused_extension_needs_a_reason_and_keeps_the_due_date(world, assessing):
    due = later(days=2)
    request = ask(world, assessing, due_at=due)
    answer(world, request, "extension", reason="Release next week.", proposed_due=later(days=9))
    with pytest.raises(InvalidInput) as exc:
        services.decide_extension(world.actor("leo"), request_id=request.public_id, decision="refused", reason=" ")
    assert field_names(exc) == ["reason"]

    refused = services.decide_extension(
        world.actor("leo"), request_id=request.public_id, decision="refused", reason="Customers are exposed."
    )

    assert (refused.status, refused.due_at) == ("open", due)
    assert (refused.extension_decision, refused.extension_decision_reason) == ("refused", "Customers are exposed.")
    assert reload(assessing).remediation_paused_at is not None
    assert last_event(assessing, "request.extension_refused").data["reason"] == "Customers are exposed."


def test_who_may_answer_and_decide(world, assessing):
    request = ask(world, assessing)
    with pytest.raises(NotFound):
        answer(world, request, who="bob")
    with pytest.raises(PermissionDenied):
        answer(world, request, who="rita")
    with pytest.raises(PermissionDenied):
        answer(world, request, who="audrey")
    with pytest.raises(NotFound):
        services.answer_request(world.actor("alice"), request_id="does-not-exist", response="done")
    assert PublisherRequest.objects.get(pk=request.pk).status == "open"

    answer(world, request, "extension", reason="Release next week.", proposed_due=later(days=9))
    with pytest.raises(PermissionDenied):
        services.decide_extension(world.actor("alice"), request_id=request.public_id, decision="granted")
    with pytest.raises(NotFound):
        services.decide_extension(world.actor("bob"), request_id=request.public_id, decision="granted")
    with pytest.raises(PermissionDenied):
        services.decide_extension(world.actor("audrey"), request_id=request.public_id, decision="granted")
    assert PublisherRequest.objects.get(pk=request.pk).status == "extension_requested"


def test_a_request_is_answered_once(world, assessing):
    request = ask(world, assessing)
    answer(world, request, "done")
    for response, extra in (("done", {}), ("declined", {"reason": "no"})):
        with pytest.raises(Conflict):
            answer(world, request, response, **extra)
    with pytest.raises(Conflict):
        answer(world, request, "extension", reason="late", proposed_due=later(days=30))
    with pytest.raises(Conflict):
        services.decide_extension(world.actor("rita"), request_id=request.public_id, decision="granted")
    assert PublisherRequest.objects.get(pk=request.pk).status == "done"
    assert kinds(assessing).count("request.done") == 1
    assert audit.verify_all().broken == {}


def test_time_with_the_publisher_before_acknowledgement_does_not_extend_remediation(world):
    # A question asked before acknowledging pauses nothing that has started yet.
    ticket = file_ticket(world)
    request = ask(world, ticket)
    assert reload(ticket).status == "submitted"
    pause_since(ticket, timezone.now() - timedelta(days=5))
    answer(world, request)
    services.acknowledge(
        world.actor("rita"), confirmation_number=ticket.confirmation_number, priority="P1", severity="critical"
    )
    stored = reload(ticket)
    assert abs(stored.remediation_due - (stored.acknowledged_at + timedelta(days=7))) <= ONE_SECOND
    assert stored.due_at == stored.remediation_due


def test_acknowledging_while_a_request_is_open_starts_the_clock_paused(world):
    ticket = file_ticket(world)
    request = ask(world, ticket)
    pause_since(ticket, timezone.now() - timedelta(days=5))
    services.acknowledge(
        world.actor("rita"), confirmation_number=ticket.confirmation_number, priority="P1", severity="critical"
    )
    acked = reload(ticket)
    assert acked.remediation_paused_at is not None
    assert acked.due_at == NO_DEADLINE
    # Answered at once: the five days before the acknowledgement do not count.
    answer(world, request)
    stored = reload(ticket)
    assert stored.remediation_paused_at is None
    assert stored.due_at == stored.remediation_due
    assert abs(stored.remediation_due - (stored.acknowledged_at + timedelta(days=7))) <= ONE_SECOND


def test_awaiting_the_publisher_by_hand_pauses_the_clock_and_resuming_restarts_it(world, assessing):
    rita = world.actor("rita")
    number = assessing.confirmation_number
    services.transition(rita, confirmation_number=number, action="await_publisher")
    paused = reload(assessing)
    assert paused.status == "awaiting_publisher"
    assert paused.remediation_paused_at is not None
    assert paused.due_at == NO_DEADLINE
    Ticket.objects.filter(pk=assessing.pk).update(remediation_paused_at=timezone.now() - timedelta(hours=5))
    services.transition(rita, confirmation_number=number, action="publisher_responded")
    resumed = reload(assessing)
    assert resumed.status == "assessing"
    assert resumed.remediation_paused_at is None
    expected = assessing.remediation_due + timedelta(hours=5)
    assert abs(resumed.remediation_due - expected) < ONE_SECOND
    assert resumed.due_at == resumed.remediation_due


@pytest.mark.parametrize("decision", ["granted", "refused"])
def test_after_an_extension_decision_the_ticket_awaits_the_publisher_again(world, assessing, decision):
    request = ask(world, assessing, due_at=later(days=2))
    services.answer_request(
        world.actor("alice"),
        request_id=request.public_id,
        response="extension",
        reason="busy",
        proposed_due=later(days=5),
    )
    assert reload(assessing).status == "assessing"
    assert reload(assessing).remediation_paused_at is None
    services.decide_extension(world.actor("rita"), request_id=request.public_id, decision=decision, reason="policy")
    ticket = reload(assessing)
    assert ticket.status == "awaiting_publisher"
    assert ticket.remediation_paused_at is not None
