"""People, publisher organisations and API tokens.

Invariants:
- a user is identified by a unique, lower-cased e-mail address;
- a marketplace staff role (responder, lead, auditor) lives on the user;
  publisher roles live on ``Membership`` (one per user and organisation);
- API tokens are stored only as a SHA-256 digest of the secret.
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
    language = models.CharField(max_length=8, default="en")
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

    def __str__(self) -> str:
        return self.name


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
