"""Priority P1-P4 from severity x category x exposure x active exploitation.

The policy is declared data (:class:`PriorityPolicy`), loadable from JSON
configuration, and :func:`suggest_priority` only reads it:

1. start from ``base[severity]``;
2. raise one step for each exposure threshold the number of affected
   customers reaches (default ≥10: one step, ≥100: two);
3. raise ``exploited_bump`` steps when the issue is actively exploited;
4. raise ``incident_bump`` steps for a security incident (default 0);
5. never above P1.

Invariants (enforced by :class:`PriorityPolicy` and tested): the result is
monotonic — a higher severity, more affected customers, active exploitation
or (with a non-negative ``incident_bump``) the incident category never lower
the priority. This holds because ``base`` must never rank a higher severity
as less urgent than a lower one and every bump is non-negative.

The result is a *suggestion*: a responder may override it, with a reason that
lands on the timeline (that is the service's business, not this module's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Final

from secdesk.domain.errors import ErrorList, FieldError, InvalidInput

__all__ = [
    "CATEGORIES",
    "DEFAULT_POLICY",
    "SEVERITIES",
    "Priority",
    "PriorityPolicy",
    "suggest_priority",
]

#: The FIRST qualitative severity scale, least to most severe.
SEVERITIES: Final[tuple[str, ...]] = ("none", "low", "medium", "high", "critical")
#: Ticket categories.
CATEGORIES: Final[tuple[str, ...]] = ("security_incident", "vulnerability")

_INCIDENT: Final = "security_incident"


class Priority(StrEnum):
    """P1 is the most urgent, P4 the least. Declared most urgent first."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """0 for P1 … 3 for P4: lower is more urgent."""
        return _PRIORITY_ORDER.index(self)

    def raised(self, steps: int) -> Priority:
        """This priority made ``steps`` more urgent, stopping at P1."""
        if steps < 0:
            raise ValueError("a priority is only ever raised")
        return _PRIORITY_ORDER[max(0, self.rank - steps)]


_PRIORITY_ORDER: Final[tuple[Priority, ...]] = tuple(Priority)
_PRIORITY_VALUES: Final[frozenset[str]] = frozenset(p.value for p in Priority)

_KNOWN_KEYS: Final = frozenset({"base", "exposure_thresholds", "exploited_bump", "incident_bump"})


def _is_whole(value: object) -> bool:
    # bool is an int subclass, but ``true`` in a config file is not a number.
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: object) -> int:
    # Only called on values _validate has accepted.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected a whole number, got {value!r}")


def _validate(
    base: Mapping[str, Priority],
    exposure_thresholds: tuple[object, ...],
    exploited_bump: object,
    incident_bump: object,
    errors: ErrorList,
) -> None:
    """Add to ``errors`` every way these settings break the policy's invariants."""
    missing = [s for s in SEVERITIES if s not in base]
    if missing:
        errors.add("base", f"base priority missing for: {', '.join(missing)}", code="required")
    unknown = sorted(str(s) for s in base if s not in SEVERITIES)
    if unknown:
        errors.add("base", f"unknown severity: {', '.join(unknown)}", code="invalid_choice")
    if not missing:
        # Monotonic in severity, or a more severe issue could get a lower priority.
        for lower, higher in pairwise(SEVERITIES):
            if base[higher].rank > base[lower].rank:
                errors.add(
                    f"base.{higher}",
                    f"{higher} must not be less urgent than {lower} ({base[higher]} after {base[lower]})",
                    code="not_monotonic",
                )
    for index, threshold in enumerate(exposure_thresholds):
        if not isinstance(threshold, int) or not _is_whole(threshold) or threshold < 1:
            errors.add(f"exposure_thresholds.{index}", "must be a whole number of at least 1")
            continue
        previous = exposure_thresholds[index - 1] if index else None
        if isinstance(previous, int) and previous >= threshold:
            errors.add(f"exposure_thresholds.{index}", "thresholds must be strictly increasing")
    for name, bump in (("exploited_bump", exploited_bump), ("incident_bump", incident_bump)):
        if not isinstance(bump, int) or not _is_whole(bump) or bump < 0:
            errors.add(name, "must be a whole number of at least 0")


@dataclass(frozen=True)
class PriorityPolicy:
    """The declared priority policy.

    Invariants, enforced on construction (:class:`InvalidInput` otherwise):

    * ``base`` gives a priority for every severity in :data:`SEVERITIES` and
      nothing else, never less urgent for a higher severity; it is stored
      read-only;
    * ``exposure_thresholds`` are strictly increasing whole numbers ≥ 1;
    * ``exploited_bump`` and ``incident_bump`` are whole numbers ≥ 0.
    """

    base: Mapping[str, Priority] = field(hash=False)
    exposure_thresholds: tuple[int, ...] = (10, 100)
    exploited_bump: int = 1
    incident_bump: int = 0

    def __post_init__(self) -> None:
        errors = ErrorList()
        base: dict[str, Priority] = {}
        for severity, raw in dict(self.base).items():
            # Accept plain "P1" strings from code that builds a policy by hand.
            if isinstance(raw, str) and raw in _PRIORITY_VALUES:
                base[severity] = Priority(raw)
            else:
                errors.add(f"base.{severity}", f"unknown priority {raw!r}; expected P1-P4", code="invalid_choice")
        thresholds = tuple(self.exposure_thresholds)
        _validate(base, thresholds, self.exploited_bump, self.incident_bump, errors)
        errors.raise_if_any()
        # Read-only copy: a policy shared by every request must not be mutated by one.
        object.__setattr__(self, "base", MappingProxyType(base))
        object.__setattr__(self, "exposure_thresholds", thresholds)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> PriorityPolicy:
        """Build a policy from configuration (parsed JSON).

        Every key is optional and falls back to :data:`DEFAULT_POLICY`; a
        given ``base`` must be complete. Unknown keys are refused so that a
        misspelt setting fails loudly instead of being ignored. Every problem
        is reported at once as an :class:`InvalidInput`.
        """
        if not isinstance(data, Mapping):
            raise InvalidInput([FieldError("priority_policy", "must be an object")])
        errors = ErrorList()
        for key in sorted(str(k) for k in data if k not in _KNOWN_KEYS):
            errors.add(key, "unknown setting", code="unknown")

        base: dict[str, Priority] = dict(DEFAULT_POLICY.base)
        if "base" in data:
            raw_base = data["base"]
            if isinstance(raw_base, Mapping):
                base = {}
                for severity, raw in raw_base.items():
                    if isinstance(raw, str) and raw in _PRIORITY_VALUES:
                        base[str(severity)] = Priority(raw)
                    else:
                        errors.add(
                            f"base.{severity}",
                            f"unknown priority {raw!r}; expected P1-P4",
                            code="invalid_choice",
                        )
            else:
                errors.add("base", "must be an object mapping severity to P1-P4")

        thresholds: tuple[object, ...] = DEFAULT_POLICY.exposure_thresholds
        if "exposure_thresholds" in data:
            raw_thresholds = data["exposure_thresholds"]
            if isinstance(raw_thresholds, list | tuple):
                thresholds = tuple(raw_thresholds)
            else:
                errors.add("exposure_thresholds", "must be a list of whole numbers")

        exploited = data.get("exploited_bump", DEFAULT_POLICY.exploited_bump)
        incident = data.get("incident_bump", DEFAULT_POLICY.incident_bump)
        _validate(base, thresholds, exploited, incident, errors)
        errors.raise_if_any()
        return cls(
            base=base,
            exposure_thresholds=tuple(_as_int(t) for t in thresholds),
            exploited_bump=_as_int(exploited),
            incident_bump=_as_int(incident),
        )

    def exposure_steps(self, affected_customers: int) -> int:
        """How many thresholds ``affected_customers`` reaches."""
        return sum(1 for threshold in self.exposure_thresholds if affected_customers >= threshold)


DEFAULT_POLICY: Final = PriorityPolicy(
    base={
        "critical": Priority.P1,
        "high": Priority.P2,
        "medium": Priority.P3,
        "low": Priority.P4,
        "none": Priority.P4,
    },
)


def suggest_priority(
    policy: PriorityPolicy,
    *,
    severity: str,
    category: str,
    affected_customers: int,
    actively_exploited: bool,
) -> Priority:
    """The priority ``policy`` suggests for a ticket (see the module docstring).

    Raises :class:`InvalidInput` for an unknown severity or category or a
    negative or non-integer number of affected customers.
    """
    errors = ErrorList()
    if severity not in SEVERITIES:
        errors.add(
            "severity",
            f"unknown severity {severity!r}; expected one of: {', '.join(SEVERITIES)}",
            code="invalid_choice",
        )
    if category not in CATEGORIES:
        errors.add(
            "category",
            f"unknown category {category!r}; expected one of: {', '.join(CATEGORIES)}",
            code="invalid_choice",
        )
    if isinstance(affected_customers, bool) or not isinstance(affected_customers, int) or affected_customers < 0:
        errors.add("affected_customers", "must be a whole number of at least 0")
    errors.raise_if_any()
    steps = policy.exposure_steps(affected_customers)
    if actively_exploited:
        steps += policy.exploited_bump
    if category == _INCIDENT:
        steps += policy.incident_bump
    return policy.base[severity].raised(steps)
