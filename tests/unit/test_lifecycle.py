"""The ticket lifecycle table and plan_transition(), exhaustively."""

from __future__ import annotations

import itertools
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secdesk.domain.errors import InvalidInput, InvalidTransition, PermissionDenied
from secdesk.domain.lifecycle import (
    CLOSE_REASONS_FROM_OPEN,
    OPEN_STATUSES,
    STATUS_CHANGED,
    TRANSITIONS,
    Action,
    CloseReason,
    Status,
    Transition,
    allowed_actions,
    plan_transition,
    transition_for,
)
from secdesk.domain.policy import ANONYMOUS, PUBLISHER_ROLES, STAFF_ROLES, Actor, Role

S = Status
A = Action
OWN_ORG = 7
OTHER_ORG = 8

EXPECTED_OPEN = {
    S.SUBMITTED,
    S.ACKNOWLEDGED,
    S.ASSESSING,
    S.AWAITING_PUBLISHER,
    S.REMEDIATING,
    S.NOTIFYING,
    S.REOPENED,
}

# The diagram from the design, written out independently of the module.
EXPECTED: dict[tuple[Status, Action], Status] = {
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.ACKNOWLEDGED, A.START_ASSESSMENT): S.ASSESSING,
    (S.REOPENED, A.START_ASSESSMENT): S.ASSESSING,
    (S.ASSESSING, A.AWAIT_PUBLISHER): S.AWAITING_PUBLISHER,
    (S.AWAITING_PUBLISHER, A.PUBLISHER_RESPONDED): S.ASSESSING,
    (S.ASSESSING, A.START_REMEDIATION): S.REMEDIATING,
    (S.REMEDIATING, A.START_NOTIFYING): S.NOTIFYING,
    **{(s, A.RESOLVE): S.RESOLVED for s in (S.ASSESSING, S.REMEDIATING, S.NOTIFYING)},
    **{(s, A.CLOSE): S.CLOSED for s in sorted(EXPECTED_OPEN | {S.RESOLVED})},
    **{(s, A.WITHDRAW): S.CLOSED for s in sorted(EXPECTED_OPEN | {S.DRAFT})},
    **{(s, A.REOPEN): S.REOPENED for s in (S.CLOSED, S.RESOLVED)},
}

PUBLISHERS = {Role.PUBLISHER_MEMBER, Role.PUBLISHER_ADMIN}
TRIAGERS = {Role.RESPONDER, Role.LEAD}
# Who may take each action on a ticket of their own organisation (staff: any).
EXPECTED_WHO: dict[Action, set[Role]] = {
    A.SUBMIT: PUBLISHERS,
    A.WITHDRAW: PUBLISHERS,
    A.PUBLISHER_RESPONDED: PUBLISHERS | TRIAGERS,
    **dict.fromkeys(
        (
            A.ACKNOWLEDGE,
            A.START_ASSESSMENT,
            A.AWAIT_PUBLISHER,
            A.START_REMEDIATION,
            A.START_NOTIFYING,
            A.RESOLVE,
            A.CLOSE,
            A.REOPEN,
        ),
        TRIAGERS,
    ),
}

VALID_FACTS: dict[str, object] = {
    "intake_complete": True,
    "priority": "P2",
    "severity": "high",
    "reason": "fixed in 2.3.1",
    "close_reason": "duplicate",
    "duplicate_of": "SEC-2026-0001",
}


def actor_for(role: Role, *, write_allowed: bool = True) -> Actor:
    if role in STAFF_ROLES:
        return Actor(user_id=1, staff_role=role, write_allowed=write_allowed)
    if role in PUBLISHER_ROLES:
        return Actor(user_id=1, memberships={OWN_ORG: role}, write_allowed=write_allowed)
    return Actor(user_id=1, customer_ids=frozenset({OWN_ORG}), write_allowed=write_allowed)


ALL_PAIRS = list(itertools.product(Status, Action))


# -- the table --------------------------------------------------------------


def test_open_statuses() -> None:
    assert OPEN_STATUSES == EXPECTED_OPEN
    assert S.DRAFT not in OPEN_STATUSES
    assert S.RESOLVED not in OPEN_STATUSES
    assert S.CLOSED not in OPEN_STATUSES


def test_table_is_exactly_the_design() -> None:
    declared = {(source, t.action): t.target for t in TRANSITIONS for source in t.sources}
    assert declared == EXPECTED
    for (status, action), target in EXPECTED.items():
        transition = transition_for(status, action)
        assert transition is not None
        assert transition.target is target


def test_one_row_per_action_and_at_most_one_transition_per_state_and_action() -> None:
    actions = [t.action for t in TRANSITIONS]
    assert sorted(actions) == sorted(set(actions))
    assert set(actions) == set(Action)
    seen: set[tuple[Status, Action]] = set()
    for t in TRANSITIONS:
        for source in t.sources:
            assert (source, t.action) not in seen
            seen.add((source, t.action))


def test_every_transition_emits_its_events_then_status_changed() -> None:
    for t in TRANSITIONS:
        assert t.emits[-1] == STATUS_CHANGED, t.action
        assert t.emits.count(STATUS_CHANGED) == 1
        assert len(t.emits) >= 2, f"{t.action} emits no specific event"
        assert all(e.startswith("ticket.") for e in t.emits)


def test_requirements_are_declared() -> None:
    requires = {t.action: t.requires for t in TRANSITIONS}
    assert requires[A.SUBMIT] == ("intake_complete",)
    assert set(requires[A.ACKNOWLEDGE]) == {"priority", "severity"}
    assert requires[A.RESOLVE] == ("reason",)
    assert requires[A.CLOSE] == ("close_reason",)
    assert requires[A.REOPEN] == ("reason",)
    withdraw = transition_for(S.SUBMITTED, A.WITHDRAW)
    assert withdraw is not None
    assert dict(withdraw.implies) == {"close_reason": CloseReason.WITHDRAWN}


def test_every_state_is_reachable_from_draft_and_nothing_leads_back_to_draft() -> None:
    reached = {S.DRAFT}
    queue = deque([S.DRAFT])
    while queue:
        status = queue.popleft()
        for (source, _action), target in EXPECTED.items():
            if source is status and target not in reached:
                reached.add(target)
                queue.append(target)
    assert reached == set(Status)
    assert all(t.target is not S.DRAFT for t in TRANSITIONS)


def test_no_dead_ends() -> None:
    for status in Status:
        assert any(transition_for(status, a) for a in Action), status


# -- plan_transition: every (state, action) x role x organisation ------------


@pytest.mark.parametrize(("status", "action"), [p for p in ALL_PAIRS if p not in EXPECTED])
def test_undeclared_pairs_are_invalid_transitions_for_everyone(status: Status, action: Action) -> None:
    for actor in [ANONYMOUS, *(actor_for(r) for r in Role)]:
        with pytest.raises(InvalidTransition) as info:
            plan_transition(actor=actor, status=status, action=action, organization_id=OWN_ORG, facts=VALID_FACTS)
        assert info.value.message.startswith(f"cannot {action.value} a ticket that is {status.value}; ")
        assert "allowed from: " in info.value.message


def test_invalid_transition_message_lists_the_allowed_states() -> None:
    with pytest.raises(InvalidTransition) as info:
        plan_transition(actor=actor_for(Role.LEAD), status=S.DRAFT, action=A.RESOLVE, organization_id=1, facts={})
    assert info.value.message == (
        "cannot resolve a ticket that is draft; allowed from: assessing, remediating, notifying"
    )


@pytest.mark.parametrize(("status", "action"), list(EXPECTED))
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("organization_id", [OWN_ORG, OTHER_ORG])
def test_declared_transitions_obey_the_grant_table(
    status: Status, action: Action, role: Role, organization_id: int
) -> None:
    facts = dict(VALID_FACTS)
    if status is S.RESOLVED:
        facts["close_reason"] = "resolved"
    permitted = role in EXPECTED_WHO[action] and (role in STAFF_ROLES or organization_id == OWN_ORG)

    def plan(actor: Actor) -> Transition:
        return plan_transition(actor=actor, status=status, action=action, organization_id=organization_id, facts=facts)

    if permitted:
        transition = plan(actor_for(role))
        assert transition.action is action
        assert transition.target is EXPECTED[(status, action)]
        assert action in allowed_actions(actor=actor_for(role), status=status, organization_id=organization_id)
    else:
        with pytest.raises(PermissionDenied):
            plan(actor_for(role))
        assert action not in allowed_actions(actor=actor_for(role), status=status, organization_id=organization_id)
    # A read-scoped token never moves a ticket, whatever its owner may do.
    with pytest.raises(PermissionDenied):
        plan(actor_for(role, write_allowed=False))


@pytest.mark.parametrize(("status", "action"), list(EXPECTED))
def test_anonymous_and_auditor_never_move_a_ticket(status: Status, action: Action) -> None:
    for actor in (ANONYMOUS, actor_for(Role.AUDITOR), actor_for(Role.CUSTOMER_CONTACT)):
        with pytest.raises(PermissionDenied):
            plan_transition(actor=actor, status=status, action=action, organization_id=OWN_ORG, facts=VALID_FACTS)


def test_permission_is_checked_before_facts() -> None:
    # Someone who may not act learns nothing about what the step would need.
    with pytest.raises(PermissionDenied):
        plan_transition(
            actor=actor_for(Role.PUBLISHER_MEMBER),
            status=S.SUBMITTED,
            action=A.ACKNOWLEDGE,
            organization_id=OWN_ORG,
            facts={},
        )


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("role", list(Role))
def test_allowed_actions_agree_with_plan_transition(status: Status, role: Role) -> None:
    actor = actor_for(role)
    facts = {**VALID_FACTS, "close_reason": "resolved" if status is S.RESOLVED else "duplicate"}
    expected = []
    for action in Action:
        try:
            plan_transition(actor=actor, status=status, action=action, organization_id=OWN_ORG, facts=facts)
        except (InvalidTransition, PermissionDenied):
            continue
        expected.append(action)
    assert allowed_actions(actor=actor, status=status, organization_id=OWN_ORG) == expected


# -- facts ------------------------------------------------------------------


def _plan(status: Status, action: Action, facts: dict[str, object], role: Role = Role.LEAD) -> Transition:
    return plan_transition(actor=actor_for(role), status=status, action=action, organization_id=OWN_ORG, facts=facts)


@pytest.mark.parametrize("transition", [t for t in TRANSITIONS if t.requires], ids=lambda t: t.action.value)
def test_every_missing_requirement_is_reported(transition: Transition) -> None:
    status = min(transition.sources)
    role = Role.PUBLISHER_ADMIN if transition.action is A.SUBMIT else Role.LEAD
    for size in range(1, len(transition.requires) + 1):
        for missing in itertools.combinations(transition.requires, size):
            for blank in (None, "", "   ", False):
                facts = {**VALID_FACTS, **dict.fromkeys(missing, blank)}
                with pytest.raises(InvalidInput) as info:
                    _plan(status, transition.action, facts, role)
                errors = info.value.errors
                assert [e.field for e in errors] == list(missing)
                assert all(e.code == "required" for e in errors)
                assert all(e.message == f"{e.field} is required to {transition.action.value}" for e in errors)


def test_acknowledge_needs_priority_and_severity() -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(S.SUBMITTED, A.ACKNOWLEDGE, {})
    assert {e.field for e in info.value.errors} == {"priority", "severity"}
    assert _plan(S.SUBMITTED, A.ACKNOWLEDGE, {"priority": "P1", "severity": "critical"}).target is S.ACKNOWLEDGED


def test_submit_needs_a_complete_intake() -> None:
    with pytest.raises(InvalidInput):
        _plan(S.DRAFT, A.SUBMIT, {"intake_complete": False}, Role.PUBLISHER_MEMBER)
    assert _plan(S.DRAFT, A.SUBMIT, {"intake_complete": True}, Role.PUBLISHER_MEMBER).target is S.SUBMITTED


@pytest.mark.parametrize("status", sorted(EXPECTED_OPEN))
@pytest.mark.parametrize("reason", sorted(CLOSE_REASONS_FROM_OPEN - {CloseReason.DUPLICATE}))
def test_close_an_open_ticket(status: Status, reason: CloseReason) -> None:
    assert _plan(status, A.CLOSE, {"close_reason": reason.value}).target is S.CLOSED


@pytest.mark.parametrize("status", sorted(EXPECTED_OPEN))
def test_closing_an_open_ticket_as_resolved_is_refused(status: Status) -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(status, A.CLOSE, {"close_reason": "resolved"})
    assert [(e.field, e.code) for e in info.value.errors] == [("close_reason", "invalid_choice")]


@pytest.mark.parametrize("reason", list(CloseReason))
def test_close_a_resolved_ticket(reason: CloseReason) -> None:
    facts: dict[str, object] = {"close_reason": reason.value, "duplicate_of": "SEC-1"}
    assert _plan(S.RESOLVED, A.CLOSE, facts).target is S.CLOSED


def test_duplicate_needs_duplicate_of() -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(S.ASSESSING, A.CLOSE, {"close_reason": "duplicate", "duplicate_of": " "})
    assert [(e.field, e.code) for e in info.value.errors] == [("duplicate_of", "required")]
    assert _plan(S.ASSESSING, A.CLOSE, {"close_reason": "duplicate", "duplicate_of": "SEC-9"}).target is S.CLOSED


def test_unknown_close_reason() -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(S.ASSESSING, A.CLOSE, {"close_reason": "bored"})
    assert [(e.field, e.code) for e in info.value.errors] == [("close_reason", "invalid_choice")]


def test_missing_close_reason_is_reported_once() -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(S.ASSESSING, A.CLOSE, {})
    assert [(e.field, e.code) for e in info.value.errors] == [("close_reason", "required")]


def test_withdraw_needs_no_facts_and_closes_as_withdrawn() -> None:
    for status in EXPECTED_OPEN | {S.DRAFT}:
        transition = _plan(status, A.WITHDRAW, {}, Role.PUBLISHER_MEMBER)
        assert transition.target is S.CLOSED
        assert ("close_reason", "withdrawn") in transition.implies
        assert "ticket.withdrawn" in transition.emits


def test_publisher_may_answer_only_for_own_organisation() -> None:
    member = actor_for(Role.PUBLISHER_MEMBER)
    kwargs = {"status": S.AWAITING_PUBLISHER, "action": A.PUBLISHER_RESPONDED, "facts": {}}
    assert plan_transition(actor=member, organization_id=OWN_ORG, **kwargs).target is S.ASSESSING  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        plan_transition(actor=member, organization_id=OTHER_ORG, **kwargs)  # type: ignore[arg-type]


def test_unknown_action_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(S.ASSESSING, "explode", {})  # type: ignore[arg-type]
    assert info.value.errors[0].field == "action"


def test_actions_accept_plain_strings() -> None:
    transition = _plan("submitted", "acknowledge", {"priority": "P3", "severity": "medium"})  # type: ignore[arg-type]
    assert transition.target is S.ACKNOWLEDGED


# -- property: random walks -------------------------------------------------

WALKERS = [actor_for(r) for r in Role] + [ANONYMOUS, actor_for(Role.LEAD, write_allowed=False)]


@settings(max_examples=300)
@given(data=st.data())
def test_random_walks_stay_inside_the_declared_lifecycle(data: st.DataObject) -> None:
    status = S.DRAFT
    left_draft = False
    for _ in range(data.draw(st.integers(min_value=1, max_value=40), label="steps")):
        actor = data.draw(st.sampled_from(WALKERS), label="actor")
        actions = allowed_actions(actor=actor, status=status, organization_id=OWN_ORG)
        if not actions:
            continue
        action = data.draw(st.sampled_from(actions), label="action")
        facts = {**VALID_FACTS, "close_reason": "resolved" if status is S.RESOLVED else "duplicate"}
        transition = plan_transition(actor=actor, status=status, action=action, organization_id=OWN_ORG, facts=facts)
        assert EXPECTED[(status, action)] is transition.target
        status = transition.target
        assert isinstance(status, Status)
        assert status in set(Status)
        left_draft = True
        assert status is not S.DRAFT
    assert left_draft or status is S.DRAFT
