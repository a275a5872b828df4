"""Request and response shapes of the API (OpenAPI is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class TicketIn(Strict):
    """A new ticket: the category, the offers and the four answers."""

    problem_type: Literal["security_incident"] = "security_incident"
    category: str = Field(description="security_incident or vulnerability")
    organization: str | None = Field(None, description="Organisation slug; needed only with several memberships")
    offers: list[str] = Field(default_factory=list, description="Slugs of the offers concerned")
    description: str = Field("", description="(i) What is the issue?")
    cvss_vectors: list[str] = Field(default_factory=list, description="(ii) CVSS v3.0/v3.1/v4.0 vectors")
    cve_ids: list[str] = Field(default_factory=list, description="(ii) CVE ids")
    cwe_ids: list[str] = Field(default_factory=list, description="(ii) optional CWE ids")
    mitigation: str = Field("", description="(iii) none, workaround or fix_available")
    remediation_steps: str = Field("", description="(iii) required unless mitigation is none")
    customer_message: str = Field("", description="(iv) optional message for customers")
    submit: bool = Field(False, description="Submit at once instead of saving a draft")


class TicketPatch(Strict):
    """Changes to a draft's answers; fields left out stay as they are."""

    category: str | None = None
    offers: list[str] | None = None
    description: str | None = None
    cvss_vectors: list[str] | None = None
    cve_ids: list[str] | None = None
    cwe_ids: list[str] | None = None
    mitigation: str | None = None
    remediation_steps: str | None = None
    customer_message: str | None = None


class CvssOut(Schema):
    vector: str
    version: str
    base_score: float
    severity: str


class TimelineOut(Schema):
    seq: int
    kind: str
    at: datetime
    actor: str
    data: dict[str, Any]


class AttachmentOut(Schema):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str


class MessageOut(Schema):
    id: int
    body: str
    internal: bool
    author: str
    from_marketplace: bool
    kind: str = Field(
        description='"" for a message a person wrote; "assessment" or "offer_action" for one the desk wrote itself'
    )
    facts: dict[str, Any] = Field(
        description="what a message of the desk says (assessment: outcome, duplicate_of, summary; offer_action: "
        "action, offer, reason, review_date), for showing it in another language; {} for a person's message"
    )
    created_at: datetime
    attachments: list[AttachmentOut]


class MessageIn(Strict):
    body: str = ""
    internal: bool = False


class TicketSummaryOut(Schema):
    confirmation_number: str
    status: str
    problem_type: str
    category: str
    organization: str
    offers: list[str]
    severity: str | None
    priority: str | None
    acknowledgement_due: datetime | None
    created_at: datetime
    submitted_at: datetime | None


class TicketOut(TicketSummaryOut):
    description: str
    cvss: list[CvssOut]
    cve_ids: list[str]
    cwe_ids: list[str]
    mitigation: str | None
    remediation_steps: str
    customer_message: str
    suggested_severity: str | None
    acknowledged_at: datetime | None
    actively_exploited: bool
    affected_customers: int
    assessment_outcome: str | None
    remediation_due: datetime | None
    remediation_paused: bool
    breached: bool
    assignee: str | None = Field(None, description="Marketplace staff only")
    close_reason: str | None
    resolution: str
    closed_at: datetime | None
    timeline: list[TimelineOut]


class TicketPageOut(Schema):
    items: list[TicketSummaryOut]
    next_cursor: str | None


class PlanOut(Schema):
    slug: str
    name: str
    version: str


class OfferOut(Schema):
    slug: str
    name: str
    status: str
    organization: str
    plans: list[PlanOut]


class ProblemOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = None
