"""The triage policy configured for this desk (priority policy, remediation targets), parsed once."""

from __future__ import annotations

import json
from functools import cache

from django.conf import settings

from secdesk.domain.priority import DEFAULT_POLICY, PriorityPolicy
from secdesk.domain.sla import RemediationTargets


@cache
def _policy(raw: str) -> PriorityPolicy:
    return PriorityPolicy.from_mapping(json.loads(raw)) if raw.strip() else DEFAULT_POLICY


@cache
def _targets(raw: str) -> RemediationTargets:
    return RemediationTargets.parse(raw)


def priority_policy() -> PriorityPolicy:
    return _policy(settings.PRIORITY_POLICY)


def remediation_targets() -> RemediationTargets:
    return _targets(settings.REMEDIATION_TARGETS)
