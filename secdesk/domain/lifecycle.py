"""The ticket lifecycle as one declared table.

::

    draft → submitted → acknowledged → assessing ⇄ awaiting_publisher
                                          ↓
                             remediating → notifying → resolved → closed
             (any open state) → closed (duplicate / not a security issue / withdrawn)
             closed → reopened → assessing

Each :class:`Transition` names the action, the states it may be taken from,
the state it leads to, the permission it needs, the facts it requires and the
events it emits. :func:`plan_transition` is the only decision function: it
checks, in this order, that the step exists from the current state
(:class:`InvalidTransition`), that the actor may take it
(:class:`PermissionDenied`), and that the facts it needs are there
(:class:`InvalidInput`, one field error per problem). It changes nothing; the
service applies the returned transition.

Invariants (checked at import and tested):

* for every (state, action) there is at most one transition;
* every source and target is a declared :class:`Status`;
* every transition emits ``ticket.status_changed`` (last), after its own events;
* no transition leaves to ``draft``: a submitted ticket is never a draft again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from secdesk.domain.errors import ErrorList, FieldError, InvalidInput, InvalidTransition, PermissionDenied
from secdesk.domain.policy import Actor, Permission, can

__all__ = [
    "CLOSE_REASONS_FROM_OPEN",
    "OPEN_STATUSES",
    "STATUS_CHANGED",
    "TRANSITIONS",
    "Action",
    "CloseReason",
    "Status",
    "Transition",
    "allowed_actions",
    "plan_transition",
    "transition_for",
]


class Status(StrEnum):
    """Where a ticket stands. Declared in lifecycle order."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    ASSESSING = "assessing"
    AWAITING_PUBLISHER = "awaiting_publisher"
    REMEDIATING = "remediating"
    NOTIFYING = "notifying"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


#: States in which the marketplace is working the ticket. A draft is not yet
#: open (nobody at the marketplace sees it); resolved and closed are done.
OPEN_STATUSES: Final[frozenset[Status]] = frozenset(
    {
        Status.SUBMITTED,
        Status.ACKNOWLEDGED,
        Status.ASSESSING,
        Status.AWAITING_PUBLISHER,
        Status.REMEDIATING,
        Status.NOTIFYING,
        Status.REOPENED,
    }
)


class Action(StrEnum):
    """A step a person can ask for. Declared in lifecycle order."""

    SUBMIT = "submit"
    ACKNOWLEDGE = "acknowledge"
    START_ASSESSMENT = "start_assessment"
    AWAIT_PUBLISHER = "await_publisher"
    PUBLISHER_RESPONDED = "publisher_responded"
    START_REMEDIATION = "start_remediation"
    START_NOTIFYING = "start_notifying"
    RESOLVE = "resolve"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    REOPEN = "reopen"


class CloseReason(StrEnum):
    """Why a ticket was closed (the ``close_reason`` fact)."""

    RESOLVED = "resolved"
    DUPLICATE = "duplicate"
    NOT_A_SECURITY_ISSUE = "not_a_security_issue"
    WITHDRAWN = "withdrawn"
    NOT_REPRODUCIBLE = "not_reproducible"


#: Reasons for closing a ticket that is still open. ``resolved`` is not one of
#: them: a ticket is closed as resolved only after the ``resolve`` step, so
#: that the resolution's reason is always recorded.
CLOSE_REASONS_FROM_OPEN: Final[frozenset[CloseReason]] = frozenset(CloseReason) - {CloseReason.RESOLVED}

#: Emitted by every transition, after the transition's own events.
STATUS_CHANGED: Final = "ticket.status_changed"


@dataclass(frozen=True)
class Transition:
    """One row of the lifecycle table.

    * ``sources``: the states the action may be taken from (never empty);
    * ``target``: the state it leads to;
    * ``permission``: what the actor must hold for the ticket's organisation;
      ``alternatives`` lists further permissions any one of which also
      suffices (a step both the publisher and staff may take);
    * ``requires``: names of facts that must be present and non-blank;
    * ``emits``: event names, always ending with ``ticket.status_changed``;
    * ``implies``: facts the step sets by itself (withdrawing closes the
      ticket with reason ``withdrawn``).
    """

    action: Action
    sources: frozenset[Status]
    target: Status
    permission: Permission
    requires: tuple[str, ...]
    emits: tuple[str, ...]
    alternatives: tuple[Permission, ...] = ()
    implies: tuple[tuple[str, str], ...] = ()

    @property
    def permissions(self) -> tuple[Permission, ...]:
        """Every permission that lets an actor take this step (any one suffices)."""
        return (self.permission, *self.alternatives)

    def permitted(self, actor: Actor, *, organization_id: int) -> bool:
        """Whether ``actor`` may take this step on a ticket of ``organization_id``."""
        return any(can(actor, p, organization_id=organization_id) for p in self.permissions)


def _t(
    action: Action,
    sources: frozenset[Status] | set[Status],
    target: Status,
    permission: Permission,
    *,
    requires: tuple[str, ...] = (),
    emits: tuple[str, ...] = (),
    alternatives: tuple[Permission, ...] = (),
    implies: tuple[tuple[str, str], ...] = (),
) -> Transition:
    # Appending the generic event here keeps the table rows short and makes
    # it impossible to forget on a new row.
    return Transition(
        action=action,
        sources=frozenset(sources),
        target=target,
        permission=permission,
        requires=requires,
        emits=(*emits, STATUS_CHANGED),
        alternatives=alternatives,
        implies=implies,
    )


_TRIAGE: Final = Permission.TICKET_TRIAGE

#: The lifecycle. Read top to bottom, this is the diagram above.
TRANSITIONS: Final[tuple[Transition, ...]] = (
    _t(
        Action.SUBMIT,
        {Status.DRAFT},
        Status.SUBMITTED,
        Permission.TICKET_SUBMIT,
        requires=("intake_complete",),
        emits=("ticket.submitted",),
    ),
    _t(
        Action.ACKNOWLEDGE,
        {Status.SUBMITTED},
        Status.ACKNOWLEDGED,
        _TRIAGE,
        requires=("priority", "severity"),
        emits=("ticket.acknowledged",),
    ),
    _t(
        Action.START_ASSESSMENT,
        {Status.ACKNOWLEDGED, Status.REOPENED},
        Status.ASSESSING,
        _TRIAGE,
        emits=("ticket.assessment_started",),
    ),
    _t(
        Action.AWAIT_PUBLISHER,
        {Status.ASSESSING},
        Status.AWAITING_PUBLISHER,
        _TRIAGE,
        emits=("ticket.awaiting_publisher",),
    ),
    _t(
        Action.PUBLISHER_RESPONDED,
        {Status.AWAITING_PUBLISHER},
        Status.ASSESSING,
        Permission.REQUEST_ANSWER,
        # Staff may record an answer that came in by another channel.
        alternatives=(_TRIAGE,),
        emits=("ticket.publisher_responded",),
    ),
    _t(
        Action.START_REMEDIATION,
        {Status.ASSESSING},
        Status.REMEDIATING,
        _TRIAGE,
        emits=("ticket.remediation_started",),
    ),
    _t(
        Action.START_NOTIFYING,
        {Status.REMEDIATING},
        Status.NOTIFYING,
        _TRIAGE,
        emits=("ticket.notifying_started",),
    ),
    _t(
        Action.RESOLVE,
        {Status.ASSESSING, Status.REMEDIATING, Status.NOTIFYING},
        Status.RESOLVED,
        _TRIAGE,
        requires=("reason",),
        emits=("ticket.resolved",),
    ),
    _t(
        Action.CLOSE,
        OPEN_STATUSES | {Status.RESOLVED},
        Status.CLOSED,
        _TRIAGE,
        requires=("close_reason",),
        emits=("ticket.closed",),
    ),
    _t(
        Action.WITHDRAW,
        OPEN_STATUSES | {Status.DRAFT},
        Status.CLOSED,
        Permission.TICKET_WITHDRAW,
        emits=("ticket.withdrawn", "ticket.closed"),
        implies=(("close_reason", CloseReason.WITHDRAWN.value),),
    ),
    _t(
        Action.REOPEN,
        {Status.CLOSED, Status.RESOLVED},
        Status.REOPENED,
        _TRIAGE,
        requires=("reason",),
        emits=("ticket.reopened",),
    ),
)


def _index(transitions: tuple[Transition, ...]) -> dict[tuple[Status, Action], Transition]:
    # Built once at import; a clash is a bug in the table, so fail loudly
    # before any request is served rather than pick one row silently.
    index: dict[tuple[Status, Action], Transition] = {}
    for transition in transitions:
        if not transition.sources:
            raise RuntimeError(f"lifecycle: {transition.action} has no source state")
        if transition.target is Status.DRAFT:
            raise RuntimeError(f"lifecycle: {transition.action} leads back to draft")
        for source in transition.sources:
            key = (source, transition.action)
            if key in index:
                raise RuntimeError(f"lifecycle: two transitions for {transition.action} from {source}")
            index[key] = transition
    return index


_BY_SOURCE_AND_ACTION: Final = _index(TRANSITIONS)


def transition_for(status: Status, action: Action) -> Transition | None:
    """The transition for ``action`` from ``status``, or ``None`` if there is none."""
    return _BY_SOURCE_AND_ACTION.get((Status(status), Action(action)))


def _sources_text(action: Action) -> str:
    # Listed in lifecycle order so that the message reads the same every time.
    sources = [s.value for s in Status if (s, action) in _BY_SOURCE_AND_ACTION]
    return ", ".join(sources) if sources else "nowhere"


def _present(facts: Mapping[str, object], name: str) -> bool:
    # A blank string is what an empty form field gives; it is not an answer.
    value = facts.get(name)
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value)


def _check_close(status: Status, facts: Mapping[str, object], errors: ErrorList) -> None:
    raw = facts.get("close_reason")
    if not _present(facts, "close_reason"):
        return  # already reported as missing
    try:
        reason = CloseReason(str(raw))
    except ValueError:
        errors.add(
            "close_reason",
            f"unknown close reason {raw!r}; expected one of: {', '.join(CloseReason)}",
            code="invalid_choice",
        )
        return
    if reason is CloseReason.RESOLVED and status is not Status.RESOLVED:
        errors.add(
            "close_reason",
            "a ticket is closed as resolved only after it has been resolved",
            code="invalid_choice",
        )
    if reason is CloseReason.DUPLICATE and not _present(facts, "duplicate_of"):
        errors.add("duplicate_of", "duplicate_of is required to close as duplicate", code="required")


#: Checks on the facts' values beyond presence, per action.
_FACT_CHECKS: Final[Mapping[Action, Callable[[Status, Mapping[str, object], ErrorList], None]]] = {
    Action.CLOSE: _check_close,
}


def plan_transition(
    *,
    actor: Actor,
    status: Status,
    action: Action,
    organization_id: int,
    facts: Mapping[str, object],
) -> Transition:
    """Decide whether ``actor`` may take ``action`` on a ticket in ``status``.

    ``organization_id`` is the organisation owning the ticket; ``facts`` are
    what the step needs (``priority``, ``reason``, ``close_reason``, ...).

    Returns the :class:`Transition` to apply. Raises, in this order:

    * :class:`InvalidTransition` — no such step from ``status``;
    * :class:`PermissionDenied` — the actor holds none of its permissions;
    * :class:`InvalidInput` — a required fact is missing or blank (code
      ``required``), or a fact's value is not acceptable (closing: an unknown
      ``close_reason``, ``resolved`` for a ticket not yet resolved, a
      duplicate without ``duplicate_of``). All problems are reported at once.
    """
    try:
        action = Action(action)
    except ValueError:
        raise InvalidInput([FieldError("action", f"unknown action {action!r}", code="invalid_choice")]) from None
    status = Status(status)
    transition = _BY_SOURCE_AND_ACTION.get((status, action))
    if transition is None:
        raise InvalidTransition(
            f"cannot {action.value} a ticket that is {status.value}; allowed from: {_sources_text(action)}"
        )
    if not transition.permitted(actor, organization_id=organization_id):
        raise PermissionDenied(f"not allowed to {action.value} this ticket")
    errors = ErrorList()
    for name in transition.requires:
        if not _present(facts, name):
            errors.add(name, f"{name} is required to {action.value}", code="required")
    check = _FACT_CHECKS.get(action)
    if check is not None:
        check(status, facts, errors)
    errors.raise_if_any()
    return transition


def allowed_actions(*, actor: Actor, status: Status, organization_id: int) -> list[Action]:
    """The actions ``actor`` may take on a ticket of ``organization_id`` in ``status``.

    In :class:`Action` order. Facts are not considered: an action listed here
    may still be refused by :func:`plan_transition` for a missing fact, never
    for the state or the permission.
    """
    status = Status(status)
    return [
        action
        for action in Action
        if (transition := _BY_SOURCE_AND_ACTION.get((status, action))) is not None
        and transition.permitted(actor, organization_id=organization_id)
    ]
