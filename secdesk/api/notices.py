"""Customer notice routes: start, read, co-edit with versions and diffs, approve, audience.

A ticket the caller may not see answers 404 on every route, exactly like a
ticket that does not exist or has no notice yet.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from secdesk.api import presenters
from secdesk.api.auth import actor_of
from secdesk.api.permissions import requires
from secdesk.api.schemas import ProblemOut, Strict
from secdesk.domain.policy import Permission
from secdesk.notices import selectors, services
from secdesk.notices.models import BODY_MAX_CHARS, SUBJECT_MAX_CHARS, Notice, NoticeRecipient, NoticeVersion

router = Router(tags=["notices"])
ERRORS: dict[int, type[ProblemOut]] = {
    400: ProblemOut,
    401: ProblemOut,
    403: ProblemOut,
    404: ProblemOut,
    409: ProblemOut,
    413: ProblemOut,
    422: ProblemOut,
}


class NoticeEditIn(Strict):
    """A new version of the notice, edited from ``base_version``."""

    subject: str = Field(min_length=1, max_length=SUBJECT_MAX_CHARS)
    body: str = Field(max_length=BODY_MAX_CHARS, description="Markdown, stored as written")
    base_version: int = Field(ge=1, description="The version you edited; refused (409) if it is no longer current")


class NoticeApproveIn(Strict):
    version: int = Field(ge=1, description="The version you approve; it must be the current one")


class ApprovalOut(Schema):
    by: str
    at: datetime


class ApprovalsOut(Schema):
    publisher: ApprovalOut | None
    marketplace: ApprovalOut | None


class NoticeDeliveryOut(Schema):
    total: int = Field(description="Recipients fixed on approval")
    sent: int
    undelivered: int = Field(description="Not sent (yet): pending, sending, failed or bounced")
    retrying: int = Field(description="Failed for now, with another attempt scheduled")
    started_at: datetime | None
    last_activity_at: datetime | None
    finished_at: datetime | None


class NoticeOut(Schema):
    confirmation_number: str
    status: str
    version: int
    subject: str
    body: str
    author: str
    updated_at: datetime
    created_at: datetime
    approved_at: datetime | None
    approvals: ApprovalsOut
    recipients: dict[str, int] = Field(description="Recipients by delivery status (fixed on approval)")
    delivery: NoticeDeliveryOut | None = Field(
        None, description="How delivery stands, once the notice is approved (null for a draft)"
    )


class NoticeVersionOut(Schema):
    number: int
    base_version: int | None
    subject: str
    body: str
    author: str
    created_at: datetime


class NoticeDiffOut(Schema):
    diff: str


class NoticeRecipientOut(Schema):
    id: int
    customer: str
    email: str
    language: str
    status: str
    attempts: int
    last_error: str
    updated_at: datetime
    message_id: str = Field(description="The Message-ID of this recipient's e-mail (the same if it is sent again)")
    sent_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When a failed delivery is tried again")


class NoticeRecipientPageOut(Schema):
    items: list[NoticeRecipientOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last page")


def _approval(by: Any, at: datetime | None, zone: tzinfo) -> dict[str, Any] | None:
    if by is None or at is None:
        return None
    return {"by": by.display_name, "at": at.astimezone(zone)}


def _notice(notice: Notice, zone: tzinfo) -> dict[str, Any]:
    current = selectors.current_version(notice)
    return {
        "confirmation_number": notice.ticket.confirmation_number,
        "status": notice.status,
        "version": notice.current_version,
        "subject": current.subject,
        "body": current.body,
        "author": current.author.display_name,
        "updated_at": current.created_at.astimezone(zone),
        "created_at": notice.created_at.astimezone(zone),
        "approved_at": notice.approved_at.astimezone(zone) if notice.approved_at else None,
        "approvals": {
            "publisher": _approval(notice.publisher_approved_by, notice.publisher_approved_at, zone),
            "marketplace": _approval(notice.marketplace_approved_by, notice.marketplace_approved_at, zone),
        },
        "recipients": selectors.recipient_counts(notice),
        "delivery": _delivery(notice, zone) if notice.status != "draft" else None,
    }


def _delivery(notice: Notice, zone: tzinfo) -> dict[str, Any]:
    progress = selectors.delivery_progress(notice)
    return {
        "total": progress.total,
        "sent": progress.sent,
        "undelivered": progress.undelivered,
        "retrying": progress.retrying,
        "started_at": progress.started_at.astimezone(zone) if progress.started_at else None,
        "last_activity_at": progress.last_activity_at.astimezone(zone) if progress.last_activity_at else None,
        "finished_at": progress.finished_at.astimezone(zone) if progress.finished_at else None,
    }


def _shown(request: HttpRequest, confirmation_number: str) -> dict[str, Any]:
    """Re-read through the selector, so the answer is what the caller may see now."""
    notice = selectors.notice_for(actor_of(request), confirmation_number)
    return _notice(notice, presenters.zone_of(request.user))


def _version(item: NoticeVersion, zone: tzinfo) -> dict[str, Any]:
    return {
        "number": item.number,
        "base_version": item.base_version,
        "subject": item.subject,
        "body": item.body,
        "author": item.author.display_name,
        "created_at": item.created_at.astimezone(zone),
    }


def _recipient(item: NoticeRecipient, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": item.pk,
        "customer": item.customer.slug,
        "email": item.email,
        "language": item.language,
        "status": item.status,
        "attempts": item.attempts,
        "last_error": item.last_error,
        "updated_at": item.updated_at.astimezone(zone),
        "message_id": item.message_id,
        "sent_at": item.sent_at.astimezone(zone) if item.sent_at else None,
        "next_attempt_at": item.next_attempt_at.astimezone(zone) if item.next_attempt_at else None,
    }


@router.post(
    "/tickets/{confirmation_number}/notice",
    response={200: NoticeOut, 201: NoticeOut, **ERRORS},
    operation_id="notice_start",
)
@requires(Permission.NOTICE_EDIT)
def start_notice(request: HttpRequest, confirmation_number: str) -> Status:
    """Start the ticket's customer notice from the publisher's message for customers (answer iv).

    Returns 201 when it was started, 200 with the existing notice otherwise.
    """
    notice, created = services.start_notice(actor_of(request), confirmation_number=confirmation_number)
    return Status(201 if created else 200, _shown(request, notice.ticket.confirmation_number))


@router.get("/tickets/{confirmation_number}/notice", response={200: NoticeOut, **ERRORS}, operation_id="notice_show")
@requires(Permission.NOTICE_READ)
def show_notice(request: HttpRequest, confirmation_number: str) -> dict[str, Any]:
    """The current version, the approvals and the recipients by delivery status."""
    return _shown(request, confirmation_number)


@router.put("/tickets/{confirmation_number}/notice", response={200: NoticeOut, **ERRORS}, operation_id="notice_edit")
@requires(Permission.NOTICE_EDIT)
def edit_notice(request: HttpRequest, confirmation_number: str, payload: NoticeEditIn) -> dict[str, Any]:
    """Save a new version; 409 if `base_version` is no longer current. Clears both approvals."""
    notice = services.edit_notice(
        actor_of(request),
        confirmation_number=confirmation_number,
        subject=payload.subject,
        body=payload.body,
        base_version=payload.base_version,
    )
    return _shown(request, notice.ticket.confirmation_number)


@router.get(
    "/tickets/{confirmation_number}/notice/versions",
    response={200: list[NoticeVersionOut], **ERRORS},
    operation_id="notice_versions",
)
@requires(Permission.NOTICE_READ)
def list_versions(request: HttpRequest, confirmation_number: str) -> list[dict[str, Any]]:
    """Every version of the notice, oldest first."""
    zone = presenters.zone_of(request.user)
    return [_version(item, zone) for item in selectors.versions(actor_of(request), confirmation_number)]


@router.get(
    "/tickets/{confirmation_number}/notice/diff",
    response={200: NoticeDiffOut, **ERRORS},
    operation_id="notice_diff",
)
@requires(Permission.NOTICE_READ)
def diff_versions(
    request: HttpRequest,
    confirmation_number: str,
    from_version: int = Query(..., alias="from", ge=1),
    to_version: int = Query(..., alias="to", ge=1),
) -> dict[str, str]:
    """A unified diff of subject and body between two versions."""
    return {"diff": selectors.diff(actor_of(request), confirmation_number, from_version, to_version)}


@router.post(
    "/tickets/{confirmation_number}/notice/approve",
    response={200: NoticeOut, **ERRORS},
    operation_id="notice_approve",
)
@requires(Permission.NOTICE_APPROVE_PUBLISHER, Permission.NOTICE_APPROVE_MARKETPLACE)
def approve_notice(request: HttpRequest, confirmation_number: str, payload: NoticeApproveIn) -> dict[str, Any]:
    """Approve the current version: a publisher member for the publisher, a lead for the marketplace.

    With both approvals the notice is approved, its recipients fixed and delivery queued.
    """
    notice = services.approve_notice(
        actor_of(request), confirmation_number=confirmation_number, version=payload.version
    )
    return _shown(request, notice.ticket.confirmation_number)


@router.get(
    "/tickets/{confirmation_number}/notice/recipients",
    response={200: NoticeRecipientPageOut, **ERRORS},
    operation_id="notice_recipients",
)
@requires(Permission.CUSTOMER_READ)
def list_recipients(
    request: HttpRequest,
    confirmation_number: str,
    status: str | None = Query(
        None, description="pending, sending, sent, failed, bounced, or undelivered (every one not sent)"
    ),
    after: int | None = Query(None, ge=0, description="`next_after` of the previous page"),
    limit: int = Query(500, ge=1, le=selectors.RECIPIENT_PAGE_MAX),
) -> dict[str, Any]:
    """Who the notice goes to and how delivery stands (marketplace staff only); `status=undelivered` lists the rest."""
    page = selectors.recipients_page(actor_of(request), confirmation_number, status=status, after=after, limit=limit)
    zone = presenters.zone_of(request.user)
    return {"items": [_recipient(item, zone) for item in page.items], "next_after": page.next_after}
