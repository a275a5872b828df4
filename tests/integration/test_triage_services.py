"""Triage services: acknowledge, reclassify, assign, assess, lifecycle steps, affected customers, offer actions.

Expected values (severity, priority, remediation due dates, affected
customers) are worked out here independently of the code under test.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from secdesk.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from secdesk.domain.intake import Answers
from secdesk.marketplace.models import Customer, Deployment, Offer, OfferAction, Plan
from secdesk.tickets import audit, selectors
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import NO_DEADLINE, Message, Ticket, TimelineEvent
from secdesk.triage import services

pytestmark = pytest.mark.django_db

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
HIGH = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N"  # 8.1
MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"  # 5.3
LOW = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"  # 1.8
VECTOR_FOR = {"critical": CRITICAL, "high": HIGH, "medium": MEDIUM, "low": LOW}
TARGET_DAYS = {"critical": 7, "high": 30, "medium": 90, "low": 180}


# --- helpers ------------------------------------------------------------------


def file_ticket(
    world,
    *,
    vectors: tuple[str, ...] = (CRITICAL,),
    category: str = "vulnerability",
    offers: tuple[str, ...] = ("contoso-backup",),
    who: str = "alice",
) -> Ticket:
    answers = Answers(
        category=category,
        offers=offers,
        description="Remote code execution in the upload endpoint.",
        cvss_vectors=vectors if category == "vulnerability" else (),
        mitigation="workaround",
        remediation_steps="Disable uploads.",
    )
    ticket, created = ticket_services.create_ticket(world.actor(who), answers=answers, submit=True)
    assert created
    assert ticket.status == "submitted"
    return ticket


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def events(ticket: Ticket, kind: str | None = None) -> list[TimelineEvent]:
    rows = TimelineEvent.objects.filter(ticket_id=ticket.pk).order_by("seq")
    return [e for e in rows if kind is None or e.kind == kind]


def kinds(ticket: Ticket) -> list[str]:
    return [e.kind for e in events(ticket)]


def ack(world, ticket: Ticket, *, severity: str, priority: str, reason: str = "", who: str = "rita") -> Ticket:
    return services.acknowledge(
        world.actor(who),
        confirmation_number=ticket.confirmation_number,
        priority=priority,
        severity=severity,
        reason=reason,
    )


def expected_customer_ids(offer_slugs, *, plan_ids=(), versions=()) -> set[int]:
    """Customers running an affected deployment: a plain loop over every Deployment row.

    Named plans narrow only their own offer; a named version list keeps deployments of
    an unknown (blank) version too.
    """
    narrowed_offers = {plan.offer_id for plan in Plan.objects.all() if plan.pk in set(plan_ids)}
    found = set()
    for deployment in Deployment.objects.select_related("offer"):
        if deployment.offer.slug not in offer_slugs:
            continue
        if deployment.offer_id in narrowed_offers and deployment.plan_id not in set(plan_ids):
            continue
        if versions and deployment.version and deployment.version not in versions:
            continue
        found.add(deployment.customer_id)
    return found


def expected_priority(severity: str, affected: int, exploited: bool) -> str:
    """The default policy written out by hand: base per severity, +1 at 10 and at 100 customers, +1 exploited."""
    base = {"critical": 1, "high": 2, "medium": 3, "low": 4, "none": 4}[severity]
    steps = (affected >= 10) + (affected >= 100) + (1 if exploited else 0)
    return f"P{max(1, base - steps)}"


def add_customers(count: int, *, offer: str = "contoso-backup", plan: str = "standard", prefix: str = "extra") -> None:
    the_plan = Plan.objects.get(offer__slug=offer, slug=plan)
    for index in range(count):
        customer = Customer.objects.create(
            name=f"{prefix} customer {index}", slug=f"{prefix}-{index}", tenant_id=f"tenant-{prefix}-{index}"
        )
        Deployment.objects.create(customer=customer, offer=the_plan.offer, plan=the_plan, version=the_plan.version)


def field_names(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [e.field for e in exc.value.errors]


# --- acknowledge --------------------------------------------------------------


def test_demo_data_gives_contoso_backup_four_affected_customers(world):
    # The premise of the examples below, counted straight from the deployment rows.
    assert len(expected_customer_ids({"contoso-backup"})) == 4
    assert Deployment.objects.filter(offer__slug="contoso-backup").values("customer").distinct().count() == 4


@pytest.mark.parametrize(
    ("vectors", "extra_customers", "exploited", "severity", "priority"),
    [
        ((CRITICAL,), 0, False, "critical", "P1"),
        ((MEDIUM, HIGH, LOW), 0, False, "high", "P2"),
        ((HIGH,), 6, False, "high", "P1"),  # 10 affected customers: one step more urgent
        ((MEDIUM,), 0, True, "medium", "P2"),  # actively exploited: one step more urgent
        ((MEDIUM,), 6, True, "medium", "P1"),
        ((LOW,), 0, False, "low", "P4"),
    ],
)
def test_acknowledge_accepts_the_suggestions_without_a_reason(
    world, vectors, extra_customers, exploited, severity, priority
):
    add_customers(extra_customers)
    ticket = file_ticket(world, vectors=vectors)
    affected = len(expected_customer_ids({"contoso-backup"}))
    assert affected == 4 + extra_customers
    assert expected_priority(severity, affected, exploited) == priority
    assert ticket.suggested_severity == severity  # the highest CVSS base score

    done = services.acknowledge(
        world.actor("rita"),
        confirmation_number=ticket.confirmation_number,
        priority=priority,
        severity=severity,
        actively_exploited=exploited,
    )

    stored = reload(done)
    assert (stored.status, stored.priority, stored.severity) == ("acknowledged", priority, severity)
    assert stored.affected_customers == affected
    assert stored.actively_exploited is exploited
    [event] = events(ticket, "ticket.acknowledged")
    assert event.data["suggested"] == {"severity": severity, "priority": priority}
    assert event.data["overridden"] == []
    assert event.data["reason"] == ""
    assert event.data["affected_customers"] == affected
    assert event.public is True


def test_overriding_a_suggestion_needs_a_reason_that_lands_on_the_timeline(world):
    ticket = file_ticket(world)  # critical, 4 customers: P1 suggested

    with pytest.raises(InvalidInput) as only_priority:
        ack(world, ticket, severity="critical", priority="P3")
    assert field_names(only_priority) == ["reason"]
    assert "P1" in only_priority.value.errors[0].message
    with pytest.raises(InvalidInput) as only_severity:
        ack(world, ticket, severity="high", priority="P2", reason="   ")
    assert field_names(only_severity) == ["reason"]
    assert reload(ticket).status == "submitted"
    assert events(ticket, "ticket.acknowledged") == []

    done = ack(world, ticket, severity="high", priority="P3", reason="  Needs local network access in practice. ")

    stored = reload(done)
    assert (stored.status, stored.severity, stored.priority) == ("acknowledged", "high", "P3")
    [event] = events(ticket, "ticket.acknowledged")
    assert event.data["priority"] == "P3"
    assert event.data["severity"] == "high"
    assert event.data["suggested"] == {"severity": "critical", "priority": expected_priority("high", 4, False)}
    assert event.data["overridden"] == ["severity", "priority"]
    assert event.data["reason"] == "Needs local network access in practice."
    assert event.data["from"] == "submitted"
    assert event.data["to"] == "acknowledged"
    assert event.actor_label == "rita@marketplace.example"


def test_unknown_priority_or_severity_is_refused(world):
    ticket = file_ticket(world)
    with pytest.raises(InvalidInput) as exc:
        ack(world, ticket, severity="severe", priority="P0", reason="x")
    assert sorted(field_names(exc)) == ["priority", "severity"]


def test_a_ticket_is_acknowledged_once_only_from_submitted(world):
    ticket = file_ticket(world)
    ack(world, ticket, severity="critical", priority="P1")
    first = reload(ticket).acknowledged_at

    with pytest.raises(InvalidTransition) as exc:
        ack(world, ticket, severity="critical", priority="P1", who="leo")
    assert "cannot acknowledge a ticket that is acknowledged" in exc.value.message
    assert "allowed from: submitted" in exc.value.message
    assert reload(ticket).acknowledged_at == first
    assert len(events(ticket, "ticket.acknowledged")) == 1


@pytest.mark.parametrize(
    ("who", "error"), [("alice", PermissionDenied), ("audrey", PermissionDenied), ("bob", NotFound)]
)
def test_only_responders_and_leads_acknowledge(world, who, error):
    ticket = file_ticket(world)
    with pytest.raises(error):
        ack(world, ticket, severity="critical", priority="P1", who=who)
    assert reload(ticket).status == "submitted"
    ack(world, ticket, severity="critical", priority="P1", who="leo")
    assert reload(ticket).status == "acknowledged"


@pytest.mark.parametrize("severity", ["critical", "high", "medium", "low"])
def test_acknowledging_starts_the_remediation_clock_for_the_severity(world, severity):
    ticket = file_ticket(world, category="security_incident")  # no CVSS: the responder sets the severity
    assert ticket.suggested_severity == ""
    ack(world, ticket, severity=severity, priority=expected_priority(severity, 4, False))
    stored = reload(ticket)
    assert stored.remediation_due == stored.acknowledged_at + timedelta(days=TARGET_DAYS[severity])
    assert stored.due_at == stored.remediation_due
    [event] = events(ticket, "ticket.acknowledged")
    assert event.data["overridden"] == []
    assert event.data["remediation_due"] == stored.remediation_due.isoformat()


def test_remediation_targets_come_from_settings(world, settings):
    settings.REMEDIATION_TARGETS = "critical=3"
    critical = file_ticket(world)
    high = file_ticket(world, vectors=(HIGH,))
    ack(world, critical, severity="critical", priority="P1")
    ack(world, high, severity="high", priority="P2")
    critical, high = reload(critical), reload(high)
    assert critical.remediation_due == critical.acknowledged_at + timedelta(days=3)
    assert high.remediation_due == high.acknowledged_at + timedelta(days=30)  # the default stays


def test_severity_none_starts_no_remediation_clock(world):
    ticket = file_ticket(world, category="security_incident")
    ack(world, ticket, severity="none", priority=expected_priority("none", 4, False))
    stored = reload(ticket)
    assert stored.severity == "none"
    assert stored.remediation_due is None
    assert stored.due_at == NO_DEADLINE


# --- reclassify ---------------------------------------------------------------


def test_reclassify_needs_a_reason_and_recomputes_the_remediation_clock(world):
    ticket = file_ticket(world)
    ack(world, ticket, severity="critical", priority="P1")
    acked = reload(ticket)
    assert acked.remediation_due == acked.acknowledged_at + timedelta(days=7)
    rita = world.actor("rita")
    number = ticket.confirmation_number

    with pytest.raises(InvalidInput) as no_reason:
        services.reclassify(rita, confirmation_number=number, severity="high", reason=" ")
    assert field_names(no_reason) == ["reason"]
    with pytest.raises(InvalidInput) as nothing:
        services.reclassify(rita, confirmation_number=number, reason="because")
    assert field_names(nothing) == ["priority"]
    assert reload(ticket).severity == "critical"

    services.reclassify(rita, confirmation_number=number, severity="high", reason="Exploit needs an account.")
    stored = reload(ticket)
    assert stored.severity == "high"
    assert stored.remediation_due == stored.acknowledged_at + timedelta(days=30)
    assert stored.due_at == stored.remediation_due
    [event] = events(ticket, "ticket.reclassified")
    assert event.data["before"] == {"priority": "P1", "severity": "critical", "actively_exploited": False}
    assert event.data["after"] == {"priority": "P1", "severity": "high", "actively_exploited": False}
    assert event.data["reason"] == "Exploit needs an account."

    # A priority-only change leaves the clock alone.
    services.reclassify(rita, confirmation_number=number, priority="P2", actively_exploited=True, reason="triaged")
    again = reload(ticket)
    assert (again.priority, again.actively_exploited) == ("P2", True)
    assert again.remediation_due == stored.remediation_due
    assert events(ticket, "ticket.reclassified")[-1].data["after"]["priority"] == "P2"


def test_reclassify_is_for_acknowledged_open_tickets(world):
    ticket = file_ticket(world)
    with pytest.raises(Conflict):
        services.reclassify(
            world.actor("rita"), confirmation_number=ticket.confirmation_number, priority="P2", reason="early"
        )
    with pytest.raises(PermissionDenied):
        services.reclassify(
            world.actor("alice"), confirmation_number=ticket.confirmation_number, priority="P2", reason="mine"
        )


# --- assign -------------------------------------------------------------------


def test_assign_to_me_to_a_colleague_and_to_nobody(world):
    ticket = file_ticket(world)
    number = ticket.confirmation_number
    rita = world.actor("rita")

    services.assign(rita, confirmation_number=number, assignee="me")
    assert reload(ticket).assignee == world.users["rita"]
    services.assign(rita, confirmation_number=number, assignee=" LEO@marketplace.example ")
    assert reload(ticket).assignee == world.users["leo"]
    services.assign(rita, confirmation_number=number, assignee="rita@marketplace.example")
    assert reload(ticket).assignee == world.users["rita"]
    services.assign(rita, confirmation_number=number, assignee=None)
    assert reload(ticket).assignee is None

    assigned = events(ticket, "ticket.assigned")
    assert [e.data["assignee"] for e in assigned] == [
        "rita@marketplace.example",
        "leo@marketplace.example",
        "rita@marketplace.example",
        None,
    ]
    assert all(not e.public for e in assigned)
    # The publisher's view of the timeline leaves the assignments out.
    publisher_view = [e.kind for e in selectors.timeline_for(world.actor("alice"), ticket)]
    staff_view = [e.kind for e in selectors.timeline_for(world.actor("rita"), ticket)]
    assert "ticket.assigned" not in publisher_view
    assert staff_view.count("ticket.assigned") == 4


@pytest.mark.parametrize(
    "assignee", ["alice@contoso.example", "audrey@marketplace.example", "nobody@marketplace.example"]
)
def test_only_a_responder_or_lead_can_be_the_assignee(world, assignee):
    ticket = file_ticket(world)
    with pytest.raises(InvalidInput) as exc:
        services.assign(world.actor("rita"), confirmation_number=ticket.confirmation_number, assignee=assignee)
    assert field_names(exc) == ["assignee"]
    assert reload(ticket).assignee is None


def test_publishers_cannot_assign(world):
    ticket = file_ticket(world)
    with pytest.raises(PermissionDenied):
        services.assign(world.actor("alice"), confirmation_number=ticket.confirmation_number, assignee="me")
    with pytest.raises(NotFound):
        services.assign(world.actor("bob"), confirmation_number=ticket.confirmation_number, assignee="me")


# --- assess -------------------------------------------------------------------

OUTCOME_WORDS = {
    "confirmed": "Confirmed",
    "not_reproducible": "Not reproducible",
    "not_a_security_issue": "Not a security issue",
    "needs_information": "need more information",
}


@pytest.mark.parametrize("outcome", sorted(OUTCOME_WORDS))
def test_assessment_moves_to_assessing_and_tells_the_publisher(world, outcome):
    ticket = file_ticket(world)
    ack(world, ticket, severity="critical", priority="P1")

    services.assess(
        world.actor("rita"), confirmation_number=ticket.confirmation_number, outcome=outcome, summary="Details here."
    )

    stored = reload(ticket)
    assert stored.status == "assessing"
    assert stored.assessment_outcome == outcome
    assert kinds(ticket)[-2:] == ["ticket.assessment_started", "ticket.assessed"]
    [message] = Message.objects.filter(ticket=ticket)
    assert message.from_marketplace
    assert not message.internal
    assert OUTCOME_WORDS[outcome] in message.body
    assert "Details here." in message.body
    # The publisher reads it on the thread.
    seen = [m.body for m in selectors.messages_for(world.actor("alice"), stored)]
    assert seen == [message.body]
    assert events(ticket, "ticket.assessed")[0].data["outcome"] == outcome


def test_a_duplicate_names_an_existing_other_ticket(world):
    original = file_ticket(world)
    ticket = file_ticket(world)
    foreign = file_ticket(world, offers=("fabrikam-gateway",), who="bob")
    ack(world, ticket, severity="critical", priority="P1")
    rita = world.actor("rita")
    number = ticket.confirmation_number

    for duplicate_of in (None, "", "SEC-0000-0000-0", number):
        with pytest.raises(InvalidInput) as exc:
            services.assess(rita, confirmation_number=number, outcome="duplicate", duplicate_of=duplicate_of)
        assert field_names(exc) == ["duplicate_of"]
    assert reload(ticket).status == "acknowledged"
    assert not Message.objects.filter(ticket=ticket).exists()

    # Staff may name any organisation's ticket (they see them all).
    services.assess(rita, confirmation_number=number, outcome="duplicate", duplicate_of=original.confirmation_number)
    stored = reload(ticket)
    assert stored.duplicate_of_id == original.pk
    assert stored.assessment_outcome == "duplicate"
    [message] = Message.objects.filter(ticket=ticket)
    assert "Duplicate" in message.body
    assert original.confirmation_number in message.body
    assert foreign.confirmation_number not in message.body


def test_assessing_a_submitted_or_closed_ticket_is_refused(world):
    ticket = file_ticket(world)
    with pytest.raises(InvalidInput) as exc:
        services.assess(world.actor("rita"), confirmation_number=ticket.confirmation_number, outcome="confirmed")
    assert field_names(exc) == ["outcome"]
    with pytest.raises(InvalidInput) as unknown:
        services.assess(world.actor("rita"), confirmation_number=ticket.confirmation_number, outcome="maybe")
    assert field_names(unknown) == ["outcome"]
    with pytest.raises(PermissionDenied):
        services.assess(world.actor("alice"), confirmation_number=ticket.confirmation_number, outcome="confirmed")


# --- lifecycle steps ------------------------------------------------------------


def test_the_whole_lifecycle_path_lands_on_the_timeline(world):
    ticket = file_ticket(world)
    number = ticket.confirmation_number
    rita = world.actor("rita")
    ack(world, ticket, severity="critical", priority="P1")

    path = [
        ("start_assessment", {}, "assessing"),
        ("await_publisher", {}, "awaiting_publisher"),
        ("publisher_responded", {}, "assessing"),
        ("start_remediation", {}, "remediating"),
        ("start_notifying", {}, "notifying"),
        ("resolve", {"reason": "Fixed in 4.2.1."}, "resolved"),
        ("close", {"close_reason": "resolved"}, "closed"),
        ("reopen", {"reason": "Fix incomplete on the enterprise plan."}, "reopened"),
        ("start_assessment", {}, "assessing"),
    ]
    for action, extra, target in path:
        before = reload(ticket).status
        services.transition(rita, confirmation_number=number, action=action, **extra)
        stored = reload(ticket)
        assert stored.status == target, action
        last = events(ticket)[-1]
        assert (last.data["from"], last.data["to"]) == (before, target)
        if "reason" in extra:
            assert last.data["reason"] == extra["reason"]

    assert kinds(ticket) == [
        "ticket.created",
        "ticket.submitted",
        "ticket.acknowledged",
        "ticket.assessment_started",
        "ticket.awaiting_publisher",
        "ticket.publisher_responded",
        "ticket.remediation_started",
        "ticket.notifying_started",
        "ticket.resolved",
        "ticket.closed",
        "ticket.reopened",
        "ticket.assessment_started",
    ]
    closed = events(ticket, "ticket.closed")[0]
    assert closed.data["close_reason"] == "resolved"
    stored = reload(ticket)
    assert stored.resolution == "Fixed in 4.2.1."
    assert stored.closed_at is None
    assert stored.close_reason == ""
    report = audit.verify_all()
    assert report.broken == {}
    assert report.events >= len(path) + 3


def test_closing_records_when_and_why_and_stops_the_clock(world):
    ticket = file_ticket(world)
    ack(world, ticket, severity="critical", priority="P1")
    services.transition(
        world.actor("rita"),
        confirmation_number=ticket.confirmation_number,
        action="close",
        close_reason="not_a_security_issue",
    )
    stored = reload(ticket)
    assert (stored.status, stored.close_reason) == ("closed", "not_a_security_issue")
    assert stored.closed_at is not None
    assert stored.due_at == NO_DEADLINE


@pytest.mark.parametrize(
    ("status_path", "action", "message"),
    [
        ([], "resolve", "cannot resolve a ticket that is submitted; allowed from: assessing, remediating, notifying"),
        (["start_assessment"], "start_notifying", "cannot start_notifying a ticket that is assessing"),
        ([], "start_assessment", "cannot start_assessment a ticket that is submitted"),
        (["start_assessment"], "reopen", "cannot reopen a ticket that is assessing; allowed from: resolved, closed"),
        (["start_assessment"], "publisher_responded", "cannot publisher_responded a ticket that is assessing"),
    ],
)
def test_illegal_steps_are_refused_with_a_clear_message(world, status_path, action, message):
    ticket = file_ticket(world)
    rita = world.actor("rita")
    if status_path:
        ack(world, ticket, severity="critical", priority="P1")
    for step in status_path:
        services.transition(rita, confirmation_number=ticket.confirmation_number, action=step)
    before = reload(ticket).status
    count = len(events(ticket))
    with pytest.raises(InvalidTransition) as exc:
        services.transition(rita, confirmation_number=ticket.confirmation_number, action=action, reason="because")
    assert message in exc.value.message
    assert reload(ticket).status == before
    assert len(events(ticket)) == count


def test_steps_that_need_facts_say_which(world):
    ticket = file_ticket(world)
    number = ticket.confirmation_number
    rita = world.actor("rita")
    ack(world, ticket, severity="critical", priority="P1")
    services.transition(rita, confirmation_number=number, action="start_assessment")

    cases = [
        ({"action": "resolve"}, ["reason"]),
        ({"action": "resolve", "reason": "  "}, ["reason"]),
        ({"action": "close"}, ["close_reason"]),
        ({"action": "close", "close_reason": "resolved"}, ["close_reason"]),  # only after resolving
        ({"action": "close", "close_reason": "bored"}, ["close_reason"]),
        ({"action": "close", "close_reason": "duplicate"}, ["duplicate_of"]),
        ({"action": "teleport"}, ["action"]),
        ({"action": "acknowledge"}, ["action"]),  # has its own use case
    ]
    for kwargs, fields in cases:
        with pytest.raises(InvalidInput) as exc:
            services.transition(rita, confirmation_number=number, **kwargs)
        assert field_names(exc) == fields, kwargs
    assert reload(ticket).status == "assessing"

    services.transition(rita, confirmation_number=number, action="resolve", reason="Patched.")
    with pytest.raises(InvalidInput) as exc:
        services.transition(rita, confirmation_number=number, action="reopen")
    assert field_names(exc) == ["reason"]
    assert reload(ticket).status == "resolved"


def test_close_as_duplicate_names_the_original(world):
    original = file_ticket(world)
    ticket = file_ticket(world)
    services.transition(
        world.actor("rita"),
        confirmation_number=ticket.confirmation_number,
        action="close",
        close_reason="duplicate",
        duplicate_of=original.confirmation_number,
    )
    stored = reload(ticket)
    assert (stored.status, stored.close_reason, stored.duplicate_of_id) == ("closed", "duplicate", original.pk)
    assert events(ticket, "ticket.closed")[0].data["duplicate_of"] == original.confirmation_number


def test_the_publisher_withdraws_its_own_ticket_and_nobody_else_does(world):
    ticket = file_ticket(world)
    number = ticket.confirmation_number
    with pytest.raises(PermissionDenied):
        services.withdraw(world.actor("rita"), confirmation_number=number)
    with pytest.raises(NotFound):
        services.withdraw(world.actor("bob"), confirmation_number=number)
    with pytest.raises(PermissionDenied):
        services.transition(world.actor("alice"), confirmation_number=number, action="close", close_reason="withdrawn")
    assert reload(ticket).status == "submitted"

    services.withdraw(world.actor("alice"), confirmation_number=number)
    stored = reload(ticket)
    assert (stored.status, stored.close_reason) == ("closed", "withdrawn")
    [event] = events(ticket, "ticket.withdrawn")
    assert event.public
    assert event.actor_label == "alice@contoso.example"
    assert audit.verify_all().broken == {}


def test_the_publisher_cannot_take_triage_steps(world):
    ticket = file_ticket(world)
    ack(world, ticket, severity="critical", priority="P1")
    for who, error in (("alice", PermissionDenied), ("audrey", PermissionDenied), ("bob", NotFound)):
        with pytest.raises(error):
            services.transition(
                world.actor(who), confirmation_number=ticket.confirmation_number, action="start_assessment"
            )
    assert reload(ticket).status == "acknowledged"


# --- affected customers -------------------------------------------------------


def test_set_affected_narrows_by_plans_and_versions_and_recounts(world):
    ticket = file_ticket(world, offers=("contoso-backup", "contoso-vault"))
    rita = world.actor("rita")
    number = ticket.confirmation_number
    plan = {p.slug: p for p in Plan.objects.filter(offer__organization__slug="contoso")}
    # A customer whose deployment's version nobody recorded.
    unknown = Customer.objects.create(name="Unknown Version Ltd", slug="unknown-version", tenant_id="tenant-unknown")
    Deployment.objects.create(customer=unknown, offer=plan["team"].offer, plan=plan["team"], version="")
    offers = {"contoso-backup", "contoso-vault"}

    cases = [
        (["contoso-backup/standard", "contoso-vault/business"], [], {plan["standard"].pk, plan["business"].pk}, ()),
        (["contoso-backup/standard"], [], {plan["standard"].pk}, ()),  # contoso-vault stays wholly affected
        ([], ["4.3"], (), ("4.3",)),
        ([], ["4.3", " 4.2 ", ""], (), ("4.2", "4.3")),
        (
            ["contoso-backup/enterprise", "contoso-vault/business"],
            ["4.2"],
            {plan["enterprise"].pk, plan["business"].pk},
            ("4.2",),
        ),
        ([], [], (), ()),  # back to every deployment of the offers
    ]
    counts = []
    for plans, versions, plan_ids, wanted_versions in cases:
        services.set_affected(rita, confirmation_number=number, plans=plans, versions=versions)
        expected = expected_customer_ids(offers, plan_ids=plan_ids, versions=wanted_versions)
        counts.append(len(expected))
        stored = reload(ticket)
        assert stored.affected_customers == len(expected), (plans, versions)
        assert stored.affected_versions == sorted(wanted_versions)
        _ticket, customers = selectors.affected_customers(rita, number)
        assert {c.pk for c in customers} == expected, (plans, versions)
        last = events(ticket, "ticket.affected_updated")[-1]
        assert last.data["affected_customers"] == len(expected)
        assert sorted(last.data["plans"]) == sorted(plans)
    # The narrowing is real: the cases do not all count the same customers.
    assert counts == [2, 5, 3, 5, 0, 5]


def test_set_affected_only_takes_plans_of_the_tickets_offers(world):
    ticket = file_ticket(world)
    with pytest.raises(InvalidInput) as exc:
        services.set_affected(
            world.actor("rita"),
            confirmation_number=ticket.confirmation_number,
            plans=["contoso-backup/standard", "fabrikam-gateway/basic", "contoso-vault/team", "nonsense"],
        )
    assert field_names(exc) == ["plans.1", "plans.2", "plans.3"]
    with pytest.raises(PermissionDenied):
        services.set_affected(world.actor("alice"), confirmation_number=ticket.confirmation_number, plans=[])


def test_affected_customers_are_for_staff(world):
    ticket = file_ticket(world)
    _ticket, customers = selectors.affected_customers(world.actor("audrey"), ticket.confirmation_number)
    assert {c.pk for c in customers} == expected_customer_ids({"contoso-backup"})
    with pytest.raises(PermissionDenied):
        selectors.affected_customers(world.actor("alice"), ticket.confirmation_number)
    with pytest.raises(NotFound):
        selectors.affected_customers(world.actor("bob"), ticket.confirmation_number)


# --- offer actions ------------------------------------------------------------

REVIEW = date.today() + timedelta(days=30)


def offer_status(slug: str) -> str:
    return Offer.objects.get(slug=slug).status


@pytest.mark.parametrize(
    ("who", "error"),
    [("rita", PermissionDenied), ("alice", PermissionDenied), ("audrey", PermissionDenied), ("bob", NotFound)],
)
def test_only_leads_act_on_offers(world, who, error):
    # Bob cannot see Contoso's offer at all, so it answers like a missing one.
    with pytest.raises(error):
        services.take_offer_action(
            world.actor(who), offer="contoso-backup", action="suspend", reason="RCE", review_date=REVIEW
        )
    assert offer_status("contoso-backup") == "live"
    assert not OfferAction.objects.exists()


def test_suspend_and_delist_need_a_reason_and_a_review_date(world):
    leo = world.actor("leo")
    for action in ("suspend", "delist"):
        with pytest.raises(InvalidInput) as exc:
            services.take_offer_action(leo, offer="contoso-backup", action=action, reason=" ")
        assert sorted(field_names(exc)) == ["reason", "review_date"]
    with pytest.raises(InvalidInput) as past:
        services.take_offer_action(
            leo, offer="contoso-backup", action="suspend", reason="RCE", review_date=date.today() - timedelta(days=1)
        )
    assert field_names(past) == ["review_date"]
    with pytest.raises(InvalidInput) as unknown:
        services.take_offer_action(leo, offer="contoso-backup", action="ban", reason="RCE", review_date=REVIEW)
    assert field_names(unknown) == ["action"]
    with pytest.raises(NotFound):
        services.take_offer_action(leo, offer="no-such-offer", action="suspend", reason="RCE", review_date=REVIEW)
    assert offer_status("contoso-backup") == "live"


def test_the_offer_status_follows_its_actions(world):
    leo = world.actor("leo")
    steps = [
        ("suspend", REVIEW, "live", "suspended"),
        ("delist", REVIEW, "suspended", "delisted"),
        ("reinstate", None, "delisted", "live"),
    ]
    for action, review, before, after in steps:
        record = services.take_offer_action(
            leo, offer="contoso-vault", action=action, reason=f"{action} it", review_date=review
        )
        assert (record.previous_status, record.new_status) == (before, after)
        assert offer_status("contoso-vault") == after
        assert record.taken_by == world.users["leo"]
    with pytest.raises(Conflict) as exc:
        services.take_offer_action(leo, offer="contoso-vault", action="reinstate", reason="again")
    assert "live" in exc.value.message
    assert OfferAction.objects.filter(offer__slug="contoso-vault").count() == 3
    assert offer_status("contoso-backup") == "live"  # other offers untouched


def test_an_action_tied_to_a_ticket_tells_the_publisher_on_the_thread(world):
    ticket = file_ticket(world)
    leo = world.actor("leo")
    record = services.take_offer_action(
        leo,
        offer="contoso-backup",
        action="suspend",
        reason="Actively exploited RCE.",
        review_date=REVIEW,
        confirmation_number=ticket.confirmation_number,
    )
    assert record.ticket_id == ticket.pk
    [message] = Message.objects.filter(ticket=ticket)
    assert message.from_marketplace
    assert not message.internal
    assert "suspended" in message.body
    assert "Contoso Backup" in message.body
    assert "Actively exploited RCE." in message.body
    assert REVIEW.isoformat() in message.body
    assert [m.pk for m in selectors.messages_for(world.actor("alice"), reload(ticket))] == [message.pk]
    [event] = events(ticket, "offer.suspend")
    assert event.data == {
        "offer": "contoso-backup",
        "from": "live",
        "to": "suspended",
        "reason": "Actively exploited RCE.",
        "review_date": REVIEW.isoformat(),
    }
    assert audit.verify_all().broken == {}

    # An offer the ticket is not about is refused, and nothing changes.
    with pytest.raises(InvalidInput) as exc:
        services.take_offer_action(
            leo,
            offer="contoso-vault",
            action="suspend",
            reason="x",
            review_date=REVIEW,
            confirmation_number=ticket.confirmation_number,
        )
    assert field_names(exc) == ["offer"]
    assert offer_status("contoso-vault") == "live"
