"""The security audit log: who signed in, failed, locked out, changed a factor, a token or a role.

:func:`record` is the one way in. It writes one :class:`AuditEvent` in the
caller's transaction (so an event never outlives a change that was rolled
back) with the client's address and user agent taken from the request —
passed in, or the one being served (:class:`AuditContextMiddleware` keeps it
for signal receivers, which are not handed one).

Events are append-only: the model refuses updates and deletes, and the admin
shows them read-only. Staff read them through :func:`list_events`
(``audit:read``): the API's ``GET /audit-events`` and ``secdesk audit log``.

What records what:

* ``apps.py`` connects the receivers below to Django's sign-in signals,
  allauth's MFA signals, axes' lockout signal, and the saves of ``User``
  (``staff_role``) and ``Membership`` — so a role changed anywhere (a
  service, the admin, a sign-in that places someone) is recorded;
* ``tokens.py`` records tokens created and revoked (the CLI and the web page);
* ``throttle.py`` records API-token lockouts.
"""

from __future__ import annotations

import base64
import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.http import HttpRequest, HttpResponse

from secdesk.accounts.models import AuditEvent, Membership, Organization, User
from secdesk.domain.errors import FieldError, InvalidInput
from secdesk.domain.policy import Actor, Permission, require

Kind = AuditEvent.Kind
P = ParamSpec("P")
R = TypeVar("R")
USER_AGENT_CHARS = 300

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "secdesk_audit_request", default=None
)


class AuditContextMiddleware:
    """Keeps the request being served where signal receivers can find it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def current_request() -> HttpRequest | None:
    return _current_request.get()


AuditActor = User | Actor | int | None
_acting: contextvars.ContextVar[tuple[AuditActor, dict[str, Any]] | None] = contextvars.ContextVar(
    "secdesk_audit_acting", default=None
)


@contextmanager
def acting(actor: AuditActor, **data: Any) -> Iterator[None]:
    """Within this block, changes recorded by the signal receivers are ``actor``'s (and carry ``data``)."""
    token = _acting.set((actor, data))
    try:
        yield
    finally:
        _acting.reset(token)


def acts_as_actor(via: str) -> Callable[[Callable[Concatenate[Actor, P], R]], Callable[Concatenate[Actor, P], R]]:
    """Decorate a service (``actor`` first): what it changes is recorded as the actor's, ``via`` the service."""

    def decorate(service: Callable[Concatenate[Actor, P], R]) -> Callable[Concatenate[Actor, P], R]:
        @wraps(service)
        def run(actor: Actor, *args: P.args, **kwargs: P.kwargs) -> R:
            with acting(actor, via=via):
                return service(actor, *args, **kwargs)

        return run

    return decorate


def _who() -> tuple[AuditActor, dict[str, Any]]:
    """Who is changing things now: a service's actor, else the person the request is from."""
    found = _acting.get()
    if found is not None:
        return found
    return signed_in_user(current_request()), {}


def signed_in_user(request: HttpRequest | None) -> User | None:
    """The person the request is from (a session or an API token), if any."""
    user = getattr(request, "user", None) if request is not None else None
    return user if isinstance(user, User) and user.is_authenticated else None


def record(
    kind: str,
    *,
    actor: AuditActor = None,
    request: HttpRequest | None = None,
    subject_email: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``actor`` is who did it (None: nobody signed in, or the server's operator)."""
    from secdesk.accounts.throttle import client_ip

    request = request if request is not None else current_request()
    ip = client_ip(request) if request is not None else None
    user_agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    actor_id: int | None
    actor_email = ""
    if isinstance(actor, User):
        actor_id, actor_email = actor.pk, actor.email
    elif isinstance(actor, Actor):
        actor_id, actor_email = actor.user_id, actor.email
    else:
        actor_id = actor
        if actor_id is not None:
            actor_email = User.objects.filter(pk=actor_id).values_list("email", flat=True).first() or ""
    return AuditEvent.objects.create(
        kind=Kind(kind).value,
        actor_id=actor_id,
        actor_email=actor_email,
        subject_email=(subject_email or "").strip().lower()[:254],
        ip=ip,
        user_agent=user_agent[:USER_AGENT_CHARS],
        data=data or {},
    )


# --- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventPage:
    items: list[AuditEvent]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "audit":
            raise ValueError(raw)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput([FieldError("cursor", "is not a cursor this desk issued", "invalid_cursor")]) from None


def list_events(
    actor: Actor | None,
    *,
    kind: str | None = None,
    email: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> EventPage:
    """Newest first, keyset-paginated on id; ``email`` matches the subject or the actor.

    ``actor`` None is the server's operator (the CLI), who may read everything.
    """
    if actor is not None:
        require(actor, Permission.AUDIT_READ)
    errors: list[FieldError] = []
    if kind and kind not in Kind.values:
        errors.append(FieldError("kind", f"must be one of {', '.join(Kind.values)}", "invalid_choice"))
    if not 1 <= limit <= 500:
        errors.append(FieldError("limit", "must be between 1 and 500", "invalid"))
    if errors:
        raise InvalidInput(errors)
    queryset = AuditEvent.objects.select_related("actor").order_by("-id")
    if kind:
        queryset = queryset.filter(kind=kind)
    if email:
        address = email.strip().lower()
        queryset = queryset.filter(subject_email=address) | queryset.filter(actor_email=address)
    if cursor:
        queryset = queryset.filter(id__lt=decode_cursor(cursor))
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


# --- signal receivers (connected in apps.py) -------------------------------------------------------


def on_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    record(
        Kind.SIGN_IN,
        actor=user,
        request=request,
        subject_email=user.email,
        data={"backend": getattr(user, "backend", "") or ""},
    )


def on_logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is None or not isinstance(user, User):
        return
    record(Kind.SIGN_OUT, actor=user, request=request, subject_email=user.email)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    from secdesk.accounts.throttle import axes_username

    email = axes_username(request, credentials) if request is not None else None
    if email is None:
        email = str(credentials.get("email") or credentials.get("username") or "")
    # axes' receiver ran first (its module is imported before ours connect): it says if the pair is locked out.
    locked_out = bool(getattr(request, "axes_locked_out", False))
    record(Kind.SIGN_IN_FAILED, request=request, subject_email=email, data={"locked_out": True} if locked_out else {})


def on_locked_out(
    sender: Any, request: HttpRequest | None, username: str | None, ip_address: str, **kwargs: Any
) -> None:
    from django.conf import settings

    failures = getattr(request, "axes_failures_since_start", None)
    if isinstance(failures, int) and failures > settings.AXES_FAILURE_LIMIT:
        return  # recorded when the lockout began; each refused attempt is a sign_in_failed with locked_out
    record(
        Kind.LOCKOUT,
        request=request,
        subject_email=username or "",
        data={"channel": "sign_in", "failures": failures},
    )


def _authenticator_data(authenticator: Any) -> dict[str, Any]:
    return {"type": str(getattr(authenticator, "type", "")), "authenticator_id": getattr(authenticator, "pk", None)}


def on_authenticator_added(
    sender: Any, request: HttpRequest | None, user: User, authenticator: Any, **kwargs: Any
) -> None:
    from allauth.mfa.models import Authenticator

    codes = authenticator.type == Authenticator.Type.RECOVERY_CODES
    kind = Kind.RECOVERY_CODES_GENERATED if codes else Kind.MFA_ACTIVATED
    record(kind, actor=user, request=request, subject_email=user.email, data=_authenticator_data(authenticator))


def on_authenticator_removed(
    sender: Any, request: HttpRequest | None, user: User, authenticator: Any, **kwargs: Any
) -> None:
    record(
        Kind.MFA_DEACTIVATED,
        actor=signed_in_user(request) or user,
        request=request,
        subject_email=getattr(authenticator.user, "email", "") or user.email,
        data=_authenticator_data(authenticator),
    )


def on_authenticator_reset(
    sender: Any, request: HttpRequest | None, user: User, authenticator: Any, **kwargs: Any
) -> None:
    record(
        Kind.RECOVERY_CODES_GENERATED,
        actor=user,
        request=request,
        subject_email=user.email,
        data={**_authenticator_data(authenticator), "regenerated": True},
    )


def on_user_pre_save(sender: Any, instance: User, update_fields: Any = None, raw: bool = False, **kwargs: Any) -> None:
    """Remember the stored staff role, when this save may change it (a backstop for every path)."""
    if raw or (update_fields is not None and "staff_role" not in update_fields):
        instance._audit_old_staff_role = None  # type: ignore[attr-defined]  # private marker for post_save
        return
    old = ""
    if not instance._state.adding:
        old = User.objects.filter(pk=instance.pk).values_list("staff_role", flat=True).first() or ""
    instance._audit_old_staff_role = old  # type: ignore[attr-defined]  # private marker for post_save


def on_user_post_save(sender: Any, instance: User, created: bool, raw: bool = False, **kwargs: Any) -> None:
    old = getattr(instance, "_audit_old_staff_role", None)
    instance._audit_old_staff_role = None  # type: ignore[attr-defined]  # private marker, used once
    if raw or old is None or old == (instance.staff_role or ""):
        return
    actor, extra = _who()
    record(
        Kind.ROLE_CHANGED,
        actor=actor,
        subject_email=instance.email,
        data={**extra, "scope": "staff", "from": old or None, "to": instance.staff_role or None, "new_user": created},
    )


def _membership_data(membership: Membership, **extra: Any) -> dict[str, Any]:
    # By id: on a cascading delete the organisation row may already be gone.
    slug = Organization.objects.filter(pk=membership.organization_id).values_list("slug", flat=True).first()
    return {"organization": slug or "", "organization_id": membership.organization_id, **extra}


def on_membership_pre_save(sender: Any, instance: Membership, raw: bool = False, **kwargs: Any) -> None:
    old = None
    if not raw and not instance._state.adding:
        old = Membership.objects.filter(pk=instance.pk).values_list("role", flat=True).first()
    instance._audit_old_role = old  # type: ignore[attr-defined]  # private marker for post_save


def on_membership_post_save(sender: Any, instance: Membership, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    old = getattr(instance, "_audit_old_role", None)
    actor, extra = _who()
    email = User.objects.filter(pk=instance.user_id).values_list("email", flat=True).first() or ""
    if created:
        record(
            Kind.MEMBERSHIP_ADDED,
            actor=actor,
            subject_email=email,
            data=_membership_data(instance, **extra, role=instance.role),
        )
    elif old is not None and old != instance.role:
        record(
            Kind.ROLE_CHANGED,
            actor=actor,
            subject_email=email,
            data=_membership_data(instance, **extra, scope="organization", **{"from": old, "to": instance.role}),
        )


def on_membership_post_delete(sender: Any, instance: Membership, **kwargs: Any) -> None:
    actor, extra = _who()
    email = User.objects.filter(pk=instance.user_id).values_list("email", flat=True).first() or ""
    record(
        Kind.MEMBERSHIP_REMOVED,
        actor=actor,
        subject_email=email,
        data=_membership_data(instance, **extra, role=instance.role),
    )
