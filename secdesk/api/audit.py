"""The security audit log for staff: sign-ins, lockouts, factors, tokens, roles (``audit:read``).

Responders, leads and auditors may read it; anyone else gets 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from secdesk.accounts import audit
from secdesk.accounts.models import AuditEvent
from secdesk.api.auth import actor_of
from secdesk.api.permissions import requires
from secdesk.api.schemas import ProblemOut
from secdesk.domain.policy import Permission

router = Router(tags=["audit"])
ERRORS: dict[int, type[ProblemOut]] = {401: ProblemOut, 403: ProblemOut, 422: ProblemOut, 429: ProblemOut}


class AuditEventOut(Schema):
    id: int
    at: datetime
    kind: str = Field(description=", ".join(AuditEvent.Kind.values))
    actor: str | None = Field(description="E-mail of who acted; null when nobody was signed in (or the CLI)")
    subject_email: str = Field(description="The account concerned (may be an address that has no account)")
    ip: str | None
    user_agent: str
    data: dict[str, Any]


class AuditEventPageOut(Schema):
    items: list[AuditEventOut]
    next_cursor: str | None


def _event(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "kind": event.kind,
        "actor": event.actor_email or None,
        "subject_email": event.subject_email,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "data": event.data,
    }


@router.get("/audit-events", response={200: AuditEventPageOut, **ERRORS}, operation_id="audit_event_list")
@requires(Permission.AUDIT_READ)
def list_audit_events(
    request: HttpRequest,
    kind: str | None = Query(None, description="Only events of this kind"),
    email: str | None = Query(None, max_length=254, description="Only events about (or by) this e-mail address"),
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    """The security audit log, newest first; follow `next_cursor` for older events."""
    page = audit.list_events(actor_of(request), kind=kind, email=email, cursor=cursor, limit=limit)
    return {"items": [_event(event) for event in page.items], "next_cursor": page.next_cursor}
