"""People, publisher organisations, API tokens and the security audit log.

Invariants:
- a user is identified by a unique, lower-cased e-mail address;
- a marketplace staff role (responder, lead, auditor) lives on the user;
  publisher roles live on ``Membership`` (one per user and organisation);
- API tokens are stored only as a SHA-256 digest of the secret;
- an organisation is found from a sign-in by its Entra ID tenant id or one of
  its e-mail domains, each owned by at most one organisation; a person nobody
  can place waits in a pending ``MembershipRequest``;
- an invitation is for one e-mail address and is accepted at most once;
- audit events are append-only (no update or delete through the ORM).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils.timezone import now

from secdesk.domain.policy import Role

STAFF_ROLE_CHOICES = [(r.value, r.value) for r in (Role.RESPONDER, Role.LEAD, Role.AUDITOR)]
PUBLISHER_ROLE_CHOICES = [(r.value, r.value) for r in (Role.PUBLISHER_MEMBER, Role.PUBLISHER_ADMIN)]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("staff_role", Role.LEAD.value)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: publisher member, marketplace staff or customer contact."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    staff_role = models.CharField(max_length=32, choices=STAFF_ROLE_CHOICES, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # Blank: the browser's Accept-Language decides (and mail goes out in the default language).
    language = models.CharField(max_length=8, blank=True, default="")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(default=now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class Organization(models.Model):
    """A publisher: the vendor whose offers are listed on the marketplace."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=now)
    oidc_tenant_id = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="Microsoft Entra ID tenant (directory) id: people signing in from it join this organisation.",
    )

    def __str__(self) -> str:
        return self.name


class OrganizationDomain(models.Model):
    """An e-mail domain of an organisation: people signing in with a verified address there join it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="email_domains")
    domain = models.CharField(max_length=253, unique=True, help_text="Lower case, without '@' (contoso.example).")

    def __str__(self) -> str:
        return self.domain

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.domain = self.domain.strip().lower().lstrip("@")
        super().save(*args, **kwargs)


class Membership(models.Model):
    """A user's role in one publisher organisation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=PUBLISHER_ROLE_CHOICES, default=Role.PUBLISHER_MEMBER.value)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique_user_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class ApiToken(models.Model):
    """A named, scoped, expiring API token; only its SHA-256 digest is kept."""

    SCOPE_READ = "read"
    SCOPE_WRITE = "write"
    SCOPE_CHOICES: ClassVar = [(SCOPE_READ, "read"), (SCOPE_WRITE, "write")]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    scope = models.CharField(max_length=8, choices=SCOPE_CHOICES, default=SCOPE_WRITE)
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="apitoken_unique_active_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class MembershipRequest(models.Model):
    """Someone signed in whom no tenant or verified e-mail domain placed in an organisation.

    ``organization`` is the organisation asked for when one is known (an
    unverified address in its domain); otherwise a lead chooses one on
    approval. Approval creates the ``Membership``.
    """

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    STATUS_CHOICES: ClassVar = [(PENDING, "pending"), (APPROVED, "approved"), (REJECTED, "rejected")]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="membership_requests")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="membership_requests"
    )
    email = models.EmailField(help_text="The address the person signed in with.")
    source = models.CharField(max_length=100, blank=True, help_text="How they signed in (oidc:<provider>, local).")
    requested_at = models.DateTimeField(default=now)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=PENDING)
    decided_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="membership_decisions"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(status="pending"), name="membershiprequest_one_pending_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization or '?'} ({self.status})"


class Invitation(models.Model):
    """A publisher admin's (or lead's) invitation of one e-mail address to an organisation."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=32, choices=PUBLISHER_ROLE_CHOICES, default=Role.PUBLISHER_MEMBER.value)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="invitations_sent")
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations_accepted"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} ({self.role})"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Append-only: rows are added, never changed or removed through the ORM."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("audit events are append-only")


class AuditEvent(models.Model):
    """One security-relevant event: a sign-in, a factor, a token, a role (see ``audit.py``).

    Append-only: saving an existing row, deleting one, or updating or
    deleting a queryset raises ``TypeError``. ``actor_email`` keeps who acted
    readable after the account is gone (``actor`` is then null).
    """

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in"
        SIGN_IN_FAILED = "sign_in_failed"
        SIGN_OUT = "sign_out"
        MFA_ACTIVATED = "mfa_activated"
        MFA_DEACTIVATED = "mfa_deactivated"
        RECOVERY_CODES_GENERATED = "recovery_codes_generated"
        TOKEN_CREATED = "token_created"  # noqa: S105 — an event name, not a secret
        TOKEN_REVOKED = "token_revoked"  # noqa: S105 — an event name, not a secret
        ROLE_CHANGED = "role_changed"
        MEMBERSHIP_ADDED = "membership_added"
        MEMBERSHIP_REMOVED = "membership_removed"
        LOCKOUT = "lockout"

    at = models.DateTimeField(default=now, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True, help_text="Who acted, as they were known then.")
    subject_email = models.CharField(max_length=254, blank=True, help_text="The account concerned.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["kind", "-id"], name="auditevent_kind_id"),
            models.Index(fields=["subject_email", "-id"], name="auditevent_subject_id"),
            models.Index(fields=["actor_email", "-id"], name="auditevent_actor_id"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.subject_email or self.actor_email}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("audit events are append-only")
