"""Who may do what: one permission enum, the roles, and one grant table.

Everything an adapter or service asks ("may this actor do X to this object?")
is answered by :func:`can` from three declared pieces:

* :data:`GRANTS` — role → the permissions that role holds, one table;
* :data:`PERSONAL_PERMISSIONS` — what any signed-in person holds for their
  own things, whatever their role (their API tokens);
* the scope rule (see :func:`effective_permissions`): staff roles are
  marketplace-wide, publisher roles hold only inside the organisation they
  belong to, the customer-contact role only for the customer (tenant) it is a
  contact of.

Invariants (tested):

* an anonymous actor holds nothing;
* a read-scoped actor (``write_allowed=False``) holds only
  :data:`READ_PERMISSIONS`;
* the auditor holds only :data:`READ_PERMISSIONS`, plus the personal
  permissions every signed-in person has (managing their own API tokens,
  which audit tooling needs; a token is the person's credential, not a
  record of the desk);
* a publisher never holds anything for an organisation it does not belong
  to, except its own personal permissions;
* the publisher's voice (filing, submitting and withdrawing a ticket,
  answering a request, approving a notice on the publisher's side) is never
  granted to staff, so a notice always carries two independent approvals and
  an answer to a request always comes from the publisher.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from secdesk.domain.errors import PermissionDenied

__all__ = [
    "ANONYMOUS",
    "GRANTS",
    "LIST_PERMISSIONS",
    "PERSONAL_PERMISSIONS",
    "PUBLISHER_ROLES",
    "READ_PERMISSIONS",
    "STAFF_ROLES",
    "WRITE_PERMISSIONS",
    "Actor",
    "Memberships",
    "Permission",
    "Role",
    "can",
    "effective_permissions",
    "require",
]


class Role(StrEnum):
    """A person's role: marketplace staff, publisher, or customer contact."""

    PUBLISHER_MEMBER = "publisher_member"
    PUBLISHER_ADMIN = "publisher_admin"
    RESPONDER = "responder"
    LEAD = "lead"
    AUDITOR = "auditor"
    CUSTOMER_CONTACT = "customer_contact"


#: Marketplace-wide roles: they hold for every organisation's objects.
STAFF_ROLES: Final[frozenset[Role]] = frozenset({Role.RESPONDER, Role.LEAD, Role.AUDITOR})
#: Roles held inside one publisher organisation (a membership).
PUBLISHER_ROLES: Final[frozenset[Role]] = frozenset({Role.PUBLISHER_MEMBER, Role.PUBLISHER_ADMIN})


class Permission(StrEnum):
    """Every permission, as a ``resource:action`` value.

    A permission whose action is ``read`` changes nothing; every other one
    changes something (see :data:`READ_PERMISSIONS`).
    """

    TICKET_READ = "ticket:read"
    TICKET_CREATE = "ticket:create"
    TICKET_EDIT_DRAFT = "ticket:edit_draft"
    TICKET_SUBMIT = "ticket:submit"
    TICKET_TRIAGE = "ticket:triage"
    TICKET_WITHDRAW = "ticket:withdraw"
    QUEUE_READ = "queue:read"  # the triage queue across every publisher: staff only
    MESSAGE_READ = "message:read"
    MESSAGE_CREATE = "message:create"
    NOTE_READ = "note:read"
    NOTE_CREATE = "note:create"
    ATTACHMENT_READ = "attachment:read"
    ATTACHMENT_CREATE = "attachment:create"
    OFFER_READ = "offer:read"
    OFFER_ENFORCE = "offer:enforce"
    REQUEST_CREATE = "request:create"
    REQUEST_ANSWER = "request:answer"
    REQUEST_DECIDE = "request:decide"
    NOTICE_READ = "notice:read"
    NOTICE_EDIT = "notice:edit"
    NOTICE_APPROVE_PUBLISHER = "notice:approve_publisher"
    NOTICE_APPROVE_MARKETPLACE = "notice:approve_marketplace"
    CUSTOMER_READ = "customer:read"
    POLICY_OVERRIDE = "policy:override"
    MEMBER_MANAGE = "member:manage"
    AUDIT_READ = "audit:read"
    TOKEN_MANAGE = "token:manage"  # noqa: S105 -- a permission name, not a secret
    WEBHOOK_MANAGE = "webhook:manage"  # an organisation's webhooks (publisher admin), the marketplace's (lead)

    @property
    def resource(self) -> str:
        """The part before the colon (``ticket`` for ``ticket:read``)."""
        return self.value.split(":", 1)[0]

    @property
    def action(self) -> str:
        """The part after the colon (``read`` for ``ticket:read``)."""
        return self.value.split(":", 1)[1]


#: Permissions that change nothing; the only ones a read-scoped token or an
#: auditor ever holds.
READ_PERMISSIONS: Final[frozenset[Permission]] = frozenset(
    {
        Permission.TICKET_READ,
        Permission.QUEUE_READ,
        Permission.MESSAGE_READ,
        Permission.NOTE_READ,
        Permission.ATTACHMENT_READ,
        Permission.OFFER_READ,
        Permission.NOTICE_READ,
        Permission.CUSTOMER_READ,
        Permission.AUDIT_READ,
    }
)
#: Every permission that changes something.
WRITE_PERMISSIONS: Final[frozenset[Permission]] = frozenset(Permission) - READ_PERMISSIONS

#: Held by every signed-in person whatever their roles: they concern only the
#: person's own things (the service scopes them to ``actor.user_id``).
PERSONAL_PERMISSIONS: Final[frozenset[Permission]] = frozenset({Permission.TOKEN_MANAGE})

#: The permissions an organisation- or customer-scoped role may hold when no
#: particular object is in question (``organization_id`` and ``customer_id``
#: both ``None``): listing what one may see and starting a new ticket. The
#: selector behind the list must still scope it to the actor's organisations
#: and customers; anything else needs the object's owner to be named.
LIST_PERMISSIONS: Final[frozenset[Permission]] = frozenset(
    {
        Permission.TICKET_READ,
        Permission.TICKET_CREATE,
        Permission.OFFER_READ,
        Permission.NOTICE_READ,
    }
)

_PUBLISHER_MEMBER_GRANTS: Final = frozenset(
    {
        Permission.TICKET_READ,
        Permission.TICKET_CREATE,
        Permission.TICKET_EDIT_DRAFT,
        Permission.TICKET_SUBMIT,
        Permission.TICKET_WITHDRAW,
        Permission.MESSAGE_READ,
        Permission.MESSAGE_CREATE,
        Permission.ATTACHMENT_READ,
        Permission.ATTACHMENT_CREATE,
        Permission.OFFER_READ,
        Permission.REQUEST_ANSWER,
        Permission.NOTICE_READ,
        Permission.NOTICE_EDIT,
        Permission.NOTICE_APPROVE_PUBLISHER,
    }
)

_RESPONDER_GRANTS: Final = frozenset(
    {
        Permission.TICKET_READ,
        Permission.QUEUE_READ,
        Permission.TICKET_TRIAGE,
        Permission.MESSAGE_READ,
        Permission.MESSAGE_CREATE,
        Permission.NOTE_READ,
        Permission.NOTE_CREATE,
        Permission.ATTACHMENT_READ,
        Permission.ATTACHMENT_CREATE,
        Permission.OFFER_READ,
        Permission.REQUEST_CREATE,
        Permission.REQUEST_DECIDE,
        Permission.NOTICE_READ,
        Permission.NOTICE_EDIT,
        Permission.CUSTOMER_READ,
        Permission.AUDIT_READ,
    }
)

#: The one grant table: role → permissions held *within the role's scope*.
GRANTS: Final[Mapping[Role, frozenset[Permission]]] = {
    Role.PUBLISHER_MEMBER: _PUBLISHER_MEMBER_GRANTS,
    Role.PUBLISHER_ADMIN: _PUBLISHER_MEMBER_GRANTS | {Permission.MEMBER_MANAGE, Permission.WEBHOOK_MANAGE},
    Role.RESPONDER: _RESPONDER_GRANTS,
    # A lead is a responder who may also approve notices for the marketplace,
    # enforce against offers, override policy and manage any organisation's
    # members; the publisher's own voice stays with the publisher.
    Role.LEAD: _RESPONDER_GRANTS
    | {
        Permission.NOTICE_APPROVE_MARKETPLACE,
        Permission.OFFER_ENFORCE,
        Permission.POLICY_OVERRIDE,
        Permission.MEMBER_MANAGE,
        Permission.WEBHOOK_MANAGE,
    },
    # Read everything, change nothing.
    Role.AUDITOR: READ_PERMISSIONS,
    # Notices addressed to their tenant; the selector filters by audience.
    Role.CUSTOMER_CONTACT: frozenset({Permission.NOTICE_READ}),
}


class Memberships(Mapping[int, Role]):
    """An immutable, hashable ``organization_id → publisher role`` mapping.

    Invariant: every role is one of :data:`PUBLISHER_ROLES`.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[int, Role | str] | Iterable[tuple[int, Role | str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        data: dict[int, Role] = {}
        for organization_id, raw_role in pairs:
            role = Role(raw_role)
            if role not in PUBLISHER_ROLES:
                raise ValueError(f"{role} is not a publisher role (organisation {organization_id})")
            data[int(organization_id)] = role
        self._items: dict[int, Role] = data

    def __getitem__(self, organization_id: int) -> Role:
        return self._items[organization_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"Memberships({self._items!r})"


@dataclass(frozen=True)
class Actor:
    """The person (or API token) asking, as the rules see them.

    Invariants, enforced on construction:

    * ``staff_role`` is ``None`` or one of :data:`STAFF_ROLES`;
    * ``memberships`` maps organisation ids to :data:`PUBLISHER_ROLES` only,
      and is immutable and hashable (it is normalised to :class:`Memberships`);
    * ``customer_ids`` are the customers (tenants) this person is a contact
      of — holding any makes them a :attr:`Role.CUSTOMER_CONTACT` there;
    * an anonymous actor (``user_id is None``) has no role of any kind.

    ``write_allowed=False`` marks a read-scoped API token: every permission
    outside :data:`READ_PERMISSIONS` is refused, whatever the roles.
    """

    user_id: int | None
    staff_role: Role | None = None
    memberships: Mapping[int, Role] = field(default_factory=Memberships)
    email: str = ""
    write_allowed: bool = True
    customer_ids: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        # Normalise on construction so that an Actor built from a plain dict
        # or strings is still immutable, hashable and validated.
        if self.staff_role is not None:
            staff_role = Role(self.staff_role)
            if staff_role not in STAFF_ROLES:
                raise ValueError(f"{staff_role} is not a staff role")
            object.__setattr__(self, "staff_role", staff_role)
        if not isinstance(self.memberships, Memberships):
            object.__setattr__(self, "memberships", Memberships(self.memberships))
        object.__setattr__(self, "customer_ids", frozenset(self.customer_ids))
        if self.user_id is None and (self.staff_role or self.memberships or self.customer_ids):
            raise ValueError("an anonymous actor cannot hold a role")

    @property
    def is_anonymous(self) -> bool:
        """True when nobody is signed in."""
        return self.user_id is None

    @property
    def is_staff_member(self) -> bool:
        """True for marketplace staff (responder, lead, auditor)."""
        return self.staff_role is not None

    @property
    def is_customer_contact(self) -> bool:
        """True for a contact of at least one customer (tenant)."""
        return bool(self.customer_ids)

    def signed_in_id(self) -> int:
        """The user id, for code paths that already refused anonymous actors."""
        if self.user_id is None:
            raise PermissionDenied("sign in first")
        return self.user_id

    def organization_ids(self) -> frozenset[int]:
        """The organisations this person is a publisher member or admin of."""
        return frozenset(self.memberships)

    def role_in(self, organization_id: int) -> Role | None:
        """The publisher role held in ``organization_id``, or ``None``.

        Staff roles are not returned: they are marketplace-wide, not a
        membership.
        """
        return self.memberships.get(organization_id)

    def roles(self) -> frozenset[Role]:
        """Every role held anywhere (for display and for list checks)."""
        held = set(self.memberships.values())
        if self.staff_role is not None:
            held.add(self.staff_role)
        if self.customer_ids:
            held.add(Role.CUSTOMER_CONTACT)
        return frozenset(held)


#: The actor for a request nobody signed in to; it may do nothing.
ANONYMOUS: Final = Actor(user_id=None)


def effective_permissions(
    actor: Actor,
    *,
    organization_id: int | None = None,
    customer_id: int | None = None,
) -> frozenset[Permission]:
    """Everything ``actor`` may do to an object owned as described.

    ``organization_id`` is the publisher organisation that owns the object in
    question; ``customer_id`` the customer (tenant) it is addressed to (a
    notice's recipient). Both ``None`` means no particular object: a
    marketplace-wide check such as "may list tickets" or "may start one".

    The scope rule:

    * anonymous: nothing;
    * personal permissions: always, for anyone signed in;
    * staff role: its grants, whatever the owner (marketplace-wide);
    * object named: the publisher role held in ``organization_id`` (if any)
      and the customer-contact role if ``customer_id`` is one of the actor's
      customers (if any) add their grants;
    * no object named: every scoped role the actor holds anywhere adds its
      grants restricted to :data:`LIST_PERMISSIONS`;
    * finally a read-scoped actor keeps only :data:`READ_PERMISSIONS`.
    """
    if actor.is_anonymous:
        return frozenset()
    held: set[Permission] = set(PERSONAL_PERMISSIONS)
    if actor.staff_role is not None:
        held |= GRANTS[actor.staff_role]
    if organization_id is None and customer_id is None:
        scoped = set(actor.memberships.values())
        if actor.customer_ids:
            scoped.add(Role.CUSTOMER_CONTACT)
        for role in scoped:
            held |= GRANTS[role] & LIST_PERMISSIONS
    else:
        if organization_id is not None:
            membership_role = actor.role_in(organization_id)
            if membership_role is not None:
                held |= GRANTS[membership_role]
        if customer_id is not None and customer_id in actor.customer_ids:
            held |= GRANTS[Role.CUSTOMER_CONTACT]
    if not actor.write_allowed:
        held &= READ_PERMISSIONS
    return frozenset(held)


def can(
    actor: Actor,
    permission: Permission,
    *,
    organization_id: int | None = None,
    customer_id: int | None = None,
) -> bool:
    """Whether ``actor`` holds ``permission`` for an object owned as described.

    See :func:`effective_permissions` for the scope rule. This answers only
    "may"; whether the object is visible at all (and the ``NotFound`` that
    hides it otherwise) is the selector's job.
    """
    return Permission(permission) in effective_permissions(
        actor, organization_id=organization_id, customer_id=customer_id
    )


def require(
    actor: Actor,
    permission: Permission,
    *,
    organization_id: int | None = None,
    customer_id: int | None = None,
) -> None:
    """Raise :class:`PermissionDenied` unless :func:`can` says yes."""
    if not can(actor, permission, organization_id=organization_id, customer_id=customer_id):
        raise PermissionDenied(f"not allowed: {Permission(permission).value}")
