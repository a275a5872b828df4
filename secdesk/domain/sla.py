"""Remediation targets per severity and the arithmetic of a pausable clock.

The remediation clock starts at acknowledgement and runs in calendar days;
it is paused while the ball is with the publisher (an open request), and
every pause pushes the due moment back by its length.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from secdesk.domain.errors import ErrorList

DEFAULT_TARGET_DAYS: Mapping[str, int] = {"critical": 7, "high": 30, "medium": 90, "low": 180}


@dataclass(frozen=True)
class RemediationTargets:
    """Days allowed to remediate, per severity; a severity without a target has no clock."""

    days: Mapping[str, int]

    @classmethod
    def parse(cls, text: str) -> RemediationTargets:
        """Read ``critical=7,high=30,...``; unknown severities and non-positive days are errors."""
        errors = ErrorList()
        days: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, _, value = item.partition("=")
            name = name.strip().lower()
            if name not in ("critical", "high", "medium", "low", "none"):
                errors.add("remediation_targets", f"unknown severity {name!r}")
                continue
            try:
                number = int(value)
            except ValueError:
                errors.add("remediation_targets", f"{name}: {value!r} is not a whole number of days")
                continue
            if number < 1:
                errors.add("remediation_targets", f"{name}: must be at least one day")
                continue
            days[name] = number
        errors.raise_if_any()
        return cls(days={**DEFAULT_TARGET_DAYS, **days})

    def target(self, severity: str) -> timedelta | None:
        value = self.days.get(severity)
        return timedelta(days=value) if value else None

    def due(self, *, started: datetime, severity: str, paused: timedelta = timedelta(0)) -> datetime | None:
        """When remediation is due: start + target + time spent paused; None when no target."""
        target = self.target(severity)
        return started + target + paused if target else None


DEFAULT_TARGETS = RemediationTargets(days=DEFAULT_TARGET_DAYS)


def remaining(due: datetime | None, *, now: datetime, paused_since: datetime | None = None) -> timedelta | None:
    """Time left on a clock; while paused, the time left is frozen at the moment the pause began."""
    if due is None:
        return None
    return due - (paused_since or now)
