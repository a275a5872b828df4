"""The priority policy: declared table, bumps, configuration, monotonicity."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secdesk.domain.errors import InvalidInput
from secdesk.domain.priority import (
    CATEGORIES,
    DEFAULT_POLICY,
    SEVERITIES,
    Priority,
    PriorityPolicy,
    suggest_priority,
)

P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4


def suggest(
    severity: str,
    *,
    category: str = "vulnerability",
    affected: int = 0,
    exploited: bool = False,
    policy: PriorityPolicy = DEFAULT_POLICY,
) -> Priority:
    return suggest_priority(
        policy,
        severity=severity,
        category=category,
        affected_customers=affected,
        actively_exploited=exploited,
    )


def urgency(priority: Priority) -> int:
    """Higher is more urgent (P1 → 4)."""
    return 4 - priority.rank


# -- the default policy -----------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("critical", P1), ("high", P2), ("medium", P3), ("low", P4), ("none", P4)],
)
def test_base_table(severity: str, expected: Priority) -> None:
    assert suggest(severity) is expected
    assert suggest(severity, category="security_incident") is expected  # incident_bump is 0 by default


@pytest.mark.parametrize(
    ("severity", "affected", "exploited", "expected"),
    [
        ("medium", 9, False, P3),
        ("medium", 10, False, P2),
        ("medium", 99, False, P2),
        ("medium", 100, False, P1),
        ("low", 100, False, P2),
        ("low", 10, True, P2),
        ("low", 100, True, P1),
        ("none", 0, True, P3),
        ("high", 10, False, P1),
        ("high", 0, True, P1),
        ("critical", 10_000, True, P1),  # never above P1
    ],
)
def test_exposure_and_exploitation_raise(severity: str, affected: int, exploited: bool, expected: Priority) -> None:
    assert suggest(severity, affected=affected, exploited=exploited) is expected


def test_incident_bump_applies_only_to_incidents() -> None:
    policy = PriorityPolicy(base=DEFAULT_POLICY.base, incident_bump=1)
    assert suggest("medium", category="security_incident", policy=policy) is P2
    assert suggest("medium", category="vulnerability", policy=policy) is P3


def test_priority_ordering_helpers() -> None:
    assert [p.rank for p in Priority] == [0, 1, 2, 3]
    assert P4.raised(0) is P4
    assert P4.raised(2) is P2
    assert P2.raised(5) is P1
    with pytest.raises(ValueError, match="raised"):
        P3.raised(-1)


# -- bad inputs -------------------------------------------------------------


def test_unknown_severity_category_and_negative_exposure_are_all_reported() -> None:
    with pytest.raises(InvalidInput) as info:
        suggest("Critical", category="incident", affected=-1)
    assert [(e.field, e.code) for e in info.value.errors] == [
        ("severity", "invalid_choice"),
        ("category", "invalid_choice"),
        ("affected_customers", "invalid"),
    ]


def test_affected_customers_must_be_an_integer() -> None:
    with pytest.raises(InvalidInput):
        suggest("low", affected=True)
    with pytest.raises(InvalidInput):
        suggest("low", affected=1.5)  # type: ignore[arg-type]


# -- the policy object and its configuration --------------------------------


def test_policy_base_is_read_only_and_policy_is_hashable() -> None:
    source = dict(DEFAULT_POLICY.base)
    policy = PriorityPolicy(base=source)
    source["critical"] = P4
    assert policy.base["critical"] is P1
    with pytest.raises(TypeError):
        policy.base["critical"] = P4  # type: ignore[index]
    assert policy == DEFAULT_POLICY
    assert hash(policy) == hash(DEFAULT_POLICY)


def test_from_mapping_defaults_and_overrides() -> None:
    assert PriorityPolicy.from_mapping({}) == DEFAULT_POLICY
    policy = PriorityPolicy.from_mapping(
        {
            "base": {"critical": "P1", "high": "P1", "medium": "P2", "low": "P3", "none": "P4"},
            "exposure_thresholds": [5, 50, 500],
            "exploited_bump": 2,
            "incident_bump": 1,
        }
    )
    assert policy.base["high"] is P1
    assert policy.exposure_thresholds == (5, 50, 500)
    assert policy.exploited_bump == 2
    assert policy.incident_bump == 1
    assert suggest("none", affected=500, policy=policy) is P1


def test_plain_strings_are_accepted_when_built_in_code() -> None:
    policy = PriorityPolicy(base={"critical": "P1", "high": "P2", "medium": "P3", "low": "P4", "none": "P4"})  # type: ignore[dict-item]
    assert policy == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"base": {"critical": "P1"}}, ["base"]),
        ({"base": {**dict.fromkeys(SEVERITIES, "P2"), "catastrophic": "P1"}}, ["base"]),
        ({"base": {**dict.fromkeys(SEVERITIES, "P2"), "high": "P0"}}, ["base.high", "base"]),
        ({"base": {**dict.fromkeys(SEVERITIES, "P2"), "critical": "P3"}}, ["base.critical"]),
        ({"base": "P1"}, ["base"]),
        ({"exposure_thresholds": [100, 10]}, ["exposure_thresholds.1"]),
        ({"exposure_thresholds": [10, 10]}, ["exposure_thresholds.1"]),
        ({"exposure_thresholds": [0]}, ["exposure_thresholds.0"]),
        ({"exposure_thresholds": ["10"]}, ["exposure_thresholds.0"]),
        ({"exposure_thresholds": 10}, ["exposure_thresholds"]),
        ({"exploited_bump": -1}, ["exploited_bump"]),
        ({"exploited_bump": True}, ["exploited_bump"]),
        ({"incident_bump": 0.5}, ["incident_bump"]),
        ({"exploited_bumps": 1}, ["exploited_bumps"]),
    ],
)
def test_from_mapping_refuses_bad_configuration(data: dict[str, object], fields: list[str]) -> None:
    with pytest.raises(InvalidInput) as info:
        PriorityPolicy.from_mapping(data)
    assert sorted(e.field for e in info.value.errors) == sorted(fields)


def test_from_mapping_reports_every_problem_at_once() -> None:
    with pytest.raises(InvalidInput) as info:
        PriorityPolicy.from_mapping(
            {"base": {"critical": "P9"}, "exposure_thresholds": [5, 1], "incident_bump": -2, "colour": "red"}
        )
    fields = {e.field for e in info.value.errors}
    assert {"colour", "base.critical", "base", "exposure_thresholds.1", "incident_bump"} <= fields


def test_from_mapping_refuses_a_non_mapping() -> None:
    with pytest.raises(InvalidInput):
        PriorityPolicy.from_mapping(["P1"])  # type: ignore[arg-type]


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(InvalidInput):
        PriorityPolicy(base=DEFAULT_POLICY.base, exposure_thresholds=(100, 10))
    with pytest.raises(InvalidInput):
        PriorityPolicy(base={"critical": P4, "high": P1, "medium": P1, "low": P1, "none": P1})


# -- property: monotonicity -------------------------------------------------


@st.composite
def policies(draw: st.DrawFn) -> PriorityPolicy:
    # A random valid policy: base non-increasing in urgency from critical down.
    ranks = sorted(draw(st.lists(st.integers(0, 3), min_size=5, max_size=5)), reverse=True)
    base = {severity: list(Priority)[rank] for severity, rank in zip(SEVERITIES, ranks, strict=True)}
    thresholds = tuple(sorted(draw(st.sets(st.integers(1, 1000), max_size=4))))
    return PriorityPolicy(
        base=base,
        exposure_thresholds=thresholds,
        exploited_bump=draw(st.integers(0, 3)),
        incident_bump=draw(st.integers(0, 3)),
    )


severities = st.sampled_from(SEVERITIES)
categories = st.sampled_from(CATEGORIES)
exposures = st.integers(0, 5000)


@given(policy=policies(), severity=severities, category=categories, affected=exposures, exploited=st.booleans())
def test_higher_severity_never_lowers_priority(
    policy: PriorityPolicy, severity: str, category: str, affected: int, exploited: bool
) -> None:
    here = suggest(severity, category=category, affected=affected, exploited=exploited, policy=policy)
    for higher in SEVERITIES[SEVERITIES.index(severity) :]:
        there = suggest(higher, category=category, affected=affected, exploited=exploited, policy=policy)
        assert urgency(there) >= urgency(here)


@given(
    policy=policies(),
    severity=severities,
    category=categories,
    affected=exposures,
    more=st.integers(0, 5000),
    exploited=st.booleans(),
)
def test_more_exposure_never_lowers_priority(
    policy: PriorityPolicy, severity: str, category: str, affected: int, more: int, exploited: bool
) -> None:
    few = suggest(severity, category=category, affected=affected, exploited=exploited, policy=policy)
    many = suggest(severity, category=category, affected=affected + more, exploited=exploited, policy=policy)
    assert urgency(many) >= urgency(few)


@given(policy=policies(), severity=severities, category=categories, affected=exposures)
def test_exploitation_and_incident_never_lower_priority(
    policy: PriorityPolicy, severity: str, category: str, affected: int
) -> None:
    calm = suggest(severity, category=category, affected=affected, exploited=False, policy=policy)
    hot = suggest(severity, category=category, affected=affected, exploited=True, policy=policy)
    assert urgency(hot) >= urgency(calm)
    vuln = suggest(severity, category="vulnerability", affected=affected, policy=policy)
    incident = suggest(severity, category="security_incident", affected=affected, policy=policy)
    assert urgency(incident) >= urgency(vuln)


def test_default_policy_is_monotonic_exhaustively() -> None:
    # Small enough to check every combination around the thresholds outright.
    grid = list(itertools.product(range(len(SEVERITIES)), [0, 9, 10, 99, 100, 101], [False, True], CATEGORIES))
    result = {
        key: urgency(suggest(SEVERITIES[key[0]], affected=key[1], exploited=key[2], category=key[3])) for key in grid
    }
    for a, b in itertools.product(grid, repeat=2):
        if a[3] == b[3] and a[0] <= b[0] and a[1] <= b[1] and a[2] <= b[2]:
            assert result[a] <= result[b], (a, b)
