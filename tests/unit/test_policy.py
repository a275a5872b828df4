"""The permission policy: grant table, scope rule, read-only actors."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secdesk.domain.errors import PermissionDenied
from secdesk.domain.policy import (
    ANONYMOUS,
    GRANTS,
    LIST_PERMISSIONS,
    PERSONAL_PERMISSIONS,
    PUBLISHER_ROLES,
    READ_PERMISSIONS,
    STAFF_ROLES,
    WRITE_PERMISSIONS,
    Actor,
    Memberships,
    Permission,
    Role,
    can,
    effective_permissions,
    require,
)

P = Permission
R = Role
OWN_ORG = 7
OTHER_ORG = 8
OWN_CUSTOMER = 70
OTHER_CUSTOMER = 80

PUBLISHERS = {R.PUBLISHER_MEMBER, R.PUBLISHER_ADMIN}
TRIAGERS = {R.RESPONDER, R.LEAD}
STAFF = {R.RESPONDER, R.LEAD, R.AUDITOR}

# The specification, written out independently of the module's table: who
# holds each permission within their scope. TOKEN_MANAGE is personal and
# checked separately.
EXPECTED: dict[Permission, set[Role]] = {
    P.TICKET_READ: PUBLISHERS | STAFF,
    P.TICKET_CREATE: PUBLISHERS,
    P.TICKET_EDIT_DRAFT: PUBLISHERS,
    P.TICKET_SUBMIT: PUBLISHERS,
    P.TICKET_TRIAGE: TRIAGERS,
    P.TICKET_WITHDRAW: PUBLISHERS,
    P.MESSAGE_READ: PUBLISHERS | STAFF,
    P.MESSAGE_CREATE: PUBLISHERS | TRIAGERS,
    P.NOTE_READ: STAFF,
    P.NOTE_CREATE: TRIAGERS,
    P.ATTACHMENT_READ: PUBLISHERS | STAFF,
    P.ATTACHMENT_CREATE: PUBLISHERS | TRIAGERS,
    P.OFFER_READ: PUBLISHERS | STAFF,
    P.OFFER_ENFORCE: {R.LEAD},
    P.REQUEST_CREATE: TRIAGERS,
    P.REQUEST_ANSWER: PUBLISHERS,
    P.REQUEST_DECIDE: TRIAGERS,
    P.NOTICE_READ: PUBLISHERS | STAFF | {R.CUSTOMER_CONTACT},
    P.NOTICE_EDIT: PUBLISHERS | TRIAGERS,
    P.NOTICE_APPROVE_PUBLISHER: PUBLISHERS,
    P.NOTICE_APPROVE_MARKETPLACE: {R.LEAD},
    P.CUSTOMER_READ: STAFF,
    P.POLICY_OVERRIDE: {R.LEAD},
    P.MEMBER_MANAGE: {R.PUBLISHER_ADMIN, R.LEAD},
    P.AUDIT_READ: STAFF,
    P.QUEUE_READ: STAFF,
    P.WEBHOOK_MANAGE: {R.PUBLISHER_ADMIN, R.LEAD},
}


def actor_for(role: Role, *, write_allowed: bool = True) -> Actor:
    """A signed-in actor holding ``role`` (publisher roles in OWN_ORG, contact of OWN_CUSTOMER)."""
    if role in STAFF_ROLES:
        return Actor(user_id=1, staff_role=role, write_allowed=write_allowed)
    if role in PUBLISHER_ROLES:
        return Actor(user_id=1, memberships={OWN_ORG: role}, write_allowed=write_allowed)
    return Actor(user_id=1, customer_ids=frozenset({OWN_CUSTOMER}), write_allowed=write_allowed)


# -- the enum and the table -------------------------------------------------


def test_every_permission_is_resource_colon_action() -> None:
    for permission in Permission:
        assert re.fullmatch(r"[a-z]+:[a-z_]+", permission.value), permission
        assert f"{permission.resource}:{permission.action}" == permission.value


def test_read_permissions_are_exactly_the_read_actions() -> None:
    assert {p for p in Permission if p.action == "read"} == READ_PERMISSIONS
    assert set(Permission) == READ_PERMISSIONS | WRITE_PERMISSIONS
    assert not READ_PERMISSIONS & WRITE_PERMISSIONS
    assert P.TOKEN_MANAGE in WRITE_PERMISSIONS


def test_grant_table_covers_every_role_and_matches_the_specification() -> None:
    assert set(GRANTS) == set(Role)
    assert set(EXPECTED) | PERSONAL_PERMISSIONS == set(Permission)
    for role in Role:
        expected = {p for p, roles in EXPECTED.items() if role in roles}
        assert GRANTS[role] == expected, role


def test_auditor_grants_are_read_only_and_complete() -> None:
    assert GRANTS[R.AUDITOR] == READ_PERMISSIONS


def test_staff_never_hold_the_publishers_voice() -> None:
    voice = {
        P.TICKET_CREATE,
        P.TICKET_EDIT_DRAFT,
        P.TICKET_SUBMIT,
        P.TICKET_WITHDRAW,
        P.REQUEST_ANSWER,
        P.NOTICE_APPROVE_PUBLISHER,
    }
    for role in STAFF_ROLES:
        assert not GRANTS[role] & voice, role


def test_lead_holds_everything_a_responder_holds() -> None:
    assert GRANTS[R.RESPONDER] < GRANTS[R.LEAD]


# -- can(): every role x permission x scope --------------------------------


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_can_with_own_and_other_organisation(role: Role, permission: Permission) -> None:
    actor = actor_for(role)
    granted = role in EXPECTED.get(permission, set()) or permission in PERSONAL_PERMISSIONS
    if role in STAFF_ROLES:
        # Marketplace-wide: the owning organisation makes no difference.
        for org in (OWN_ORG, OTHER_ORG, None):
            assert can(actor, permission, organization_id=org) is granted
    elif role in PUBLISHER_ROLES:
        assert can(actor, permission, organization_id=OWN_ORG) is granted
        assert can(actor, permission, organization_id=OTHER_ORG) is (permission in PERSONAL_PERMISSIONS)
        assert can(actor, permission) is (granted and (permission in LIST_PERMISSIONS | PERSONAL_PERMISSIONS))
    else:
        assert can(actor, permission, customer_id=OWN_CUSTOMER) is granted
        assert can(actor, permission, customer_id=OTHER_CUSTOMER) is (permission in PERSONAL_PERMISSIONS)
        # A contact is no member of the notice's publisher organisation; the
        # customer it is addressed to is what counts.
        assert can(actor, permission, organization_id=OWN_ORG, customer_id=OWN_CUSTOMER) is granted
        assert can(actor, permission, organization_id=OWN_ORG) is (permission in PERSONAL_PERMISSIONS)


@pytest.mark.parametrize("permission", sorted(WRITE_PERMISSIONS - PERSONAL_PERMISSIONS))
@pytest.mark.parametrize("org", [OWN_ORG, OTHER_ORG, None])
def test_auditor_can_never_write(permission: Permission, org: int | None) -> None:
    assert not can(actor_for(R.AUDITOR), permission, organization_id=org)


def test_auditor_may_manage_only_own_tokens() -> None:
    # Deliberate: an auditor needs a (read-scoped) token for audit tooling;
    # the token is their own credential, not a record of the desk.
    assert effective_permissions(actor_for(R.AUDITOR)) - READ_PERMISSIONS == PERSONAL_PERMISSIONS
    assert not can(actor_for(R.AUDITOR, write_allowed=False), P.TOKEN_MANAGE)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", sorted(WRITE_PERMISSIONS))
def test_read_scoped_token_can_never_write(role: Role, permission: Permission) -> None:
    actor = actor_for(role, write_allowed=False)
    for org, customer in itertools.product([OWN_ORG, OTHER_ORG, None], [OWN_CUSTOMER, None]):
        assert not can(actor, permission, organization_id=org, customer_id=customer)


@pytest.mark.parametrize("role", list(Role))
def test_read_scoped_token_keeps_its_reads(role: Role) -> None:
    full = effective_permissions(actor_for(role), organization_id=OWN_ORG, customer_id=OWN_CUSTOMER)
    scoped = effective_permissions(
        actor_for(role, write_allowed=False), organization_id=OWN_ORG, customer_id=OWN_CUSTOMER
    )
    assert scoped == full & READ_PERMISSIONS


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("org", [OWN_ORG, None])
def test_anonymous_can_do_nothing(permission: Permission, org: int | None) -> None:
    assert not can(ANONYMOUS, permission, organization_id=org)
    assert not can(ANONYMOUS, permission, organization_id=org, customer_id=OWN_CUSTOMER)


def test_signed_in_user_without_roles_may_only_manage_own_tokens() -> None:
    actor = Actor(user_id=5)
    assert effective_permissions(actor) == PERSONAL_PERMISSIONS
    assert effective_permissions(actor, organization_id=OWN_ORG) == PERSONAL_PERMISSIONS


def test_member_of_two_organisations_gets_each_role_only_there() -> None:
    actor = Actor(user_id=1, memberships={1: R.PUBLISHER_ADMIN, 2: R.PUBLISHER_MEMBER})
    assert can(actor, P.MEMBER_MANAGE, organization_id=1)
    assert not can(actor, P.MEMBER_MANAGE, organization_id=2)
    assert not can(actor, P.MEMBER_MANAGE)  # which organisation? must be named
    assert can(actor, P.TICKET_READ, organization_id=2)
    assert not can(actor, P.TICKET_READ, organization_id=3)


def test_staff_member_who_is_also_a_publisher_member_gets_the_union() -> None:
    actor = Actor(user_id=1, staff_role=R.AUDITOR, memberships={OWN_ORG: R.PUBLISHER_MEMBER})
    assert can(actor, P.TICKET_SUBMIT, organization_id=OWN_ORG)
    assert not can(actor, P.TICKET_SUBMIT, organization_id=OTHER_ORG)
    assert can(actor, P.NOTE_READ, organization_id=OTHER_ORG)


def test_require_raises_permission_denied() -> None:
    require(actor_for(R.LEAD), P.OFFER_ENFORCE, organization_id=OTHER_ORG)
    with pytest.raises(PermissionDenied, match=r"offer:enforce"):
        require(actor_for(R.RESPONDER), P.OFFER_ENFORCE, organization_id=OTHER_ORG)
    with pytest.raises(PermissionDenied):
        require(actor_for(R.PUBLISHER_MEMBER), P.TICKET_READ, organization_id=OTHER_ORG)


# -- property: random actors ---------------------------------------------------

orgs = st.integers(min_value=1, max_value=6)
actors = st.builds(
    Actor,
    user_id=st.integers(min_value=1, max_value=10**6),
    staff_role=st.none() | st.sampled_from(sorted(STAFF_ROLES)),
    memberships=st.dictionaries(orgs, st.sampled_from(sorted(PUBLISHER_ROLES)), max_size=3),
    write_allowed=st.booleans(),
    customer_ids=st.frozensets(orgs, max_size=2),
)
scopes = st.tuples(st.none() | orgs, st.none() | orgs)


@given(actor=actors, scope=scopes)
def test_property_read_scoped_and_auditors_never_write(actor: Actor, scope: tuple[int | None, int | None]) -> None:
    org, customer = scope
    held = effective_permissions(actor, organization_id=org, customer_id=customer)
    if not actor.write_allowed:
        assert held <= READ_PERMISSIONS
    if actor.staff_role is R.AUDITOR and not actor.memberships:
        assert held <= READ_PERMISSIONS | PERSONAL_PERMISSIONS


@given(actor=actors, scope=scopes)
def test_property_publisher_rights_never_leak_to_other_organisations(
    actor: Actor, scope: tuple[int | None, int | None]
) -> None:
    org, customer = scope
    held = effective_permissions(actor, organization_id=org, customer_id=customer)
    marketplace = GRANTS[actor.staff_role] if actor.staff_role else frozenset()
    allowed = set(PERSONAL_PERMISSIONS) | marketplace
    if org is None and customer is None:
        for role in actor.roles() - STAFF_ROLES:
            allowed |= GRANTS[role] & LIST_PERMISSIONS
    else:
        if org is not None and org in actor.organization_ids():
            allowed |= GRANTS[actor.memberships[org]]
        if customer is not None and customer in actor.customer_ids:
            allowed |= GRANTS[R.CUSTOMER_CONTACT]
    assert held <= allowed


@given(actor=actors, scope=scopes, permission=st.sampled_from(list(Permission)))
def test_property_can_agrees_with_effective_permissions(
    actor: Actor, scope: tuple[int | None, int | None], permission: Permission
) -> None:
    org, customer = scope
    assert can(actor, permission, organization_id=org, customer_id=customer) is (
        permission in effective_permissions(actor, organization_id=org, customer_id=customer)
    )


# -- Actor ------------------------------------------------------------------


def test_actor_normalises_and_is_hashable() -> None:
    a = Actor(user_id=1, staff_role="lead", memberships={3: "publisher_admin"})  # type: ignore[arg-type, dict-item]
    b = Actor(user_id=1, staff_role=R.LEAD, memberships=Memberships([(3, R.PUBLISHER_ADMIN)]))
    assert a == b
    assert hash(a) == hash(b)
    assert a.staff_role is R.LEAD
    assert a.role_in(3) is R.PUBLISHER_ADMIN
    assert a.role_in(4) is None
    assert a.organization_ids() == frozenset({3})
    assert a.is_staff_member
    assert not a.is_anonymous
    assert a.roles() == {R.LEAD, R.PUBLISHER_ADMIN}
    assert {a, b} == {a}


def test_actor_memberships_cannot_be_changed_through_the_source_dict() -> None:
    source = {3: R.PUBLISHER_MEMBER}
    actor = Actor(user_id=1, memberships=source)
    source[4] = R.PUBLISHER_ADMIN
    assert actor.organization_ids() == frozenset({3})
    with pytest.raises(TypeError):
        actor.memberships[4] = R.PUBLISHER_ADMIN  # type: ignore[index]


def test_anonymous_properties() -> None:
    assert ANONYMOUS.is_anonymous
    assert not ANONYMOUS.is_staff_member
    assert not ANONYMOUS.is_customer_contact
    assert ANONYMOUS.organization_ids() == frozenset()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"user_id": 1, "staff_role": R.PUBLISHER_ADMIN},
        {"user_id": 1, "staff_role": R.CUSTOMER_CONTACT},
        {"user_id": 1, "staff_role": "superuser"},
        {"user_id": 1, "memberships": {1: R.LEAD}},
        {"user_id": 1, "memberships": {1: R.CUSTOMER_CONTACT}},
        {"user_id": None, "staff_role": R.AUDITOR},
        {"user_id": None, "memberships": {1: R.PUBLISHER_MEMBER}},
        {"user_id": None, "customer_ids": frozenset({1})},
    ],
)
def test_actor_rejects_impossible_roles(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        Actor(**kwargs)  # type: ignore[arg-type]
