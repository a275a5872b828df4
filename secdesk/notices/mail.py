"""Composing the desk's outbound e-mail: one message per timeline event and recipient, and customer notices.

Every message
- has its subject tagged ``[SEC-XXXX-XXXX-X]`` (the confirmation number);
- carries a stable ``Message-ID`` (the same when the e-mail is sent again) and
  names the ticket's thread root in ``In-Reply-To`` and ``References``, so
  mail clients keep one thread per ticket (see ``addresses.py``);
- has a plain-text and an HTML part, both from templates under
  ``notices/email/``; everything people wrote is escaped in the HTML part
  (Markdown of notices is rendered with raw HTML off, then cleaned by nh3);
- is in the recipient's language (``User.language`` or the customer
  contact's; English and Turkish) with times in the recipient's time zone;
- says ``Auto-Submitted: auto-generated`` (RFC 3834), so vacation responders
  stay quiet;
- replies go to the ticket's reply address ``reply+<token>@…`` (event mail).

Nothing here writes to the database.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import nh3
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from markdown_it import MarkdownIt

from secdesk.accounts.models import User
from secdesk.marketplace.models import Offer
from secdesk.notices import addresses
from secdesk.notices.models import MailDelivery, Notice, NoticeRecipient, NoticeVersion
from secdesk.tickets.models import Message, Ticket, TimelineEvent

AUTO_SUBMITTED = "auto-generated"
DEFAULT_LANGUAGE = "en"

SEVERITY_LABELS = {
    "none": gettext_lazy("None"),
    "low": gettext_lazy("Low"),
    "medium": gettext_lazy("Medium"),
    "high": gettext_lazy("High"),
    "critical": gettext_lazy("Critical"),
}
CATEGORY_LABELS = {
    "security_incident": gettext_lazy("Security incident"),
    "vulnerability": gettext_lazy("Vulnerability"),
}
OUTCOME_LABELS = {
    "confirmed": gettext_lazy("Confirmed: the issue is real and affects the offer."),
    "not_reproducible": gettext_lazy("Not reproducible: we could not reproduce the issue."),
    "not_a_security_issue": gettext_lazy("Not a security issue."),
    "duplicate": gettext_lazy("Duplicate of another report."),
    "needs_information": gettext_lazy("We need more information to assess the issue."),
}
REQUEST_LABELS = {
    "information": gettext_lazy("Provide information"),
    "affected_versions": gettext_lazy("Confirm the affected versions and plans"),
    "modify_offer": gettext_lazy("Modify the offer"),
    "remove_offer": gettext_lazy("Remove the offer"),
    "approve_notice": gettext_lazy("Approve the customer notice"),
}
CLOCK_LABELS = {
    "acknowledgement": gettext_lazy("acknowledgement"),
    "remediation": gettext_lazy("remediation"),
}
STATUS_LABELS = {
    "submitted": gettext_lazy("submitted"),
    "acknowledged": gettext_lazy("acknowledged"),
    "assessing": gettext_lazy("assessing"),
    "awaiting_publisher": gettext_lazy("awaiting the publisher"),
    "remediating": gettext_lazy("remediating"),
    "notifying": gettext_lazy("notifying customers"),
    "resolved": gettext_lazy("resolved"),
    "closed": gettext_lazy("closed"),
    "reopened": gettext_lazy("reopened"),
}

# The fast path of notice delivery (NoticeRenderer.raw) fills these into a prebuilt message.
_TO_TOKEN = b"secdesk-recipient-placeholder@placeholder.invalid"
_ID_TOKEN = b"<secdesk-message-id-placeholder@placeholder.invalid>"
_PLAIN_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}$")
_PLAIN_MESSAGE_ID = re.compile(r"^<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~@-]{1,250}>$")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_markdown.disable("image")
_HTML_TAGS = {"p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4"}
_HTML_TAGS |= {"h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}


def language_of(code: str | None) -> str:
    """One of the desk's languages (``LANGUAGES``), English when unknown."""
    wanted = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return wanted if wanted in {c for c, _name in settings.LANGUAGES} else DEFAULT_LANGUAGE


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(value: datetime | str | None, zone: ZoneInfo) -> str:
    """A moment as the recipient reads it: ``2026-12-01 17:00 (Europe/Istanbul)``."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def ticket_url(ticket: Ticket) -> str:
    try:
        path = reverse("ticket_detail", kwargs={"confirmation_number": ticket.confirmation_number})
    except NoReverseMatch:
        path = f"/tickets/{ticket.confirmation_number}/"
    return f"{settings.SITE_URL}{path}"


def tagged(subject: str, number: str) -> str:
    """``[SEC-XXXX-XXXX-X] subject`` — one line, whatever the input."""
    line = " ".join(subject.split())
    return f"[{number}] {line}"


def fold_subject(subject: str) -> str:
    """The Subject header folded by the legacy ``email.header`` folder, the ``[SEC-…]`` tag left readable.

    Python 3.12's default folder drops the space where it splits an encoded
    word ("süresi geçti" arrives as "süresigeçti"), so non-ASCII subjects are
    folded here and stored raw (see :class:`DeskEmail`).
    """
    header = Header(header_name="Subject")
    tag, sep, rest = subject.partition("] ")
    if subject.startswith("[") and sep and tag.isascii() and not subject.isascii():
        header.append(tag + "]", "us-ascii")
        header.append(rest, "utf-8")
    else:
        header.append(subject, "us-ascii" if subject.isascii() else "utf-8")
    return header.encode()


class DeskEmail(EmailMultiAlternatives):
    """Django's multipart e-mail with a correctly folded Subject (see :func:`fold_subject`)."""

    def message(self, *, policy: Any = email.policy.default) -> Any:
        msg = super().message(policy=policy)
        subject = str(self.subject)
        del msg["Subject"]
        msg.set_raw("Subject", fold_subject(subject))
        return msg


@dataclass
class Content:
    """What one e-mail says, before it is laid out as text and HTML."""

    subject: str
    lead: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    quote_label: str = ""
    quote: str = ""
    next_steps: list[str] = field(default_factory=list)
    link_label: str = ""
    link: str = ""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _offers(ticket: Ticket) -> str:
    return ", ".join(ticket.offers.order_by("name").values_list("name", flat=True)) or "—"


def _message_of(event: TimelineEvent) -> Message | None:
    message_id = (event.data or {}).get("message_id")
    if not message_id:
        return None
    return Message.objects.select_related("author").filter(pk=message_id, ticket_id=event.ticket_id).first()


def _label(labels: dict[str, Any], key: object) -> str:
    return str(labels.get(str(key), key or "—"))


def _ticket_facts(ticket: Ticket) -> list[tuple[str, str]]:
    facts = [(_("Status"), _label(STATUS_LABELS, ticket.status))]
    if ticket.priority:
        facts.append((_("Priority"), ticket.priority))
    if ticket.severity:
        facts.append((_("Severity"), _label(SEVERITY_LABELS, ticket.severity)))
    facts.append((_("Assigned to"), ticket.assignee.display_name if ticket.assignee else _("nobody")))
    return facts


def event_content(event: TimelineEvent, ticket: Ticket, recipient: User) -> Content:
    """The words of the e-mail about ``event`` for ``recipient`` (call inside ``translation.override``)."""
    data: dict[str, Any] = event.data or {}
    zone = zone_of(recipient.timezone)
    number = ticket.confirmation_number
    link_label = _("Open the report")
    kind = event.kind
    if kind == "ticket.submitted":
        return Content(
            subject=_("We received your security report"),
            lead=[
                _("Thank you. We received your security report about %(offers)s.") % {"offers": _offers(ticket)},
                _("Your confirmation number is %(number)s. Quote it in all correspondence about this report.")
                % {"number": number},
            ],
            facts=[
                (_("Confirmation number"), number),
                (_("Category"), _label(CATEGORY_LABELS, ticket.category)),
                (_("Offers"), _offers(ticket)),
                (_("Submitted"), when(event.created_at, zone)),
                (_("Acknowledgement due"), when(data.get("acknowledgement_due"), zone)),
            ],
            next_steps=[
                _(
                    "What happens next: the marketplace security team acknowledges every report within one "
                    "business day and assigns it a priority and a severity. You can follow its progress at any time."
                )
            ],
            link_label=link_label,
            link=ticket_url(ticket),
        )
    if kind == "ticket.acknowledged":
        facts = [
            (_("Priority"), str(data.get("priority") or "—")),
            (_("Severity"), _label(SEVERITY_LABELS, data.get("severity"))),
        ]
        if data.get("remediation_due"):
            facts.append((_("Remediation target"), when(data["remediation_due"], zone)))
        return Content(
            subject=_("Acknowledged: priority %(priority)s, severity %(severity)s")
            % {"priority": data.get("priority") or "—", "severity": _label(SEVERITY_LABELS, data.get("severity"))},
            lead=[_("The marketplace security team has acknowledged your report %(number)s.") % {"number": number}],
            facts=facts,
            next_steps=[
                _(
                    "What happens next: we assess the report and send you the result. We may ask you for "
                    "information or for changes to the offer; each request says what we need and by when. "
                    "We work with you to keep the disruption for your customers as small as possible."
                )
            ],
            link_label=link_label,
            link=ticket_url(ticket),
        )
    if kind == "ticket.assessed":
        outcome = _label(OUTCOME_LABELS, data.get("outcome"))
        facts = [(_("Result"), outcome)]
        if data.get("duplicate_of"):
            facts.append((_("Original report"), str(data["duplicate_of"])))
        message = _message_of(event)
        return Content(
            subject=_("Assessment result: %(outcome)s") % {"outcome": outcome.rstrip(".")},
            lead=[_("The marketplace security team has assessed your report %(number)s.") % {"number": number}],
            facts=facts,
            quote_label=_("Message from the marketplace security team") if message else "",
            quote=message.body if message else "",
            next_steps=[_("You can answer on the report's page or by replying to this e-mail.")],
            link_label=link_label,
            link=ticket_url(ticket),
        )
    if kind == "message.created":
        message = _message_of(event)
        author = message.author.display_name if message and message.author else _("someone")
        attachments = len(data.get("attachments") or [])
        extra = (
            [
                ngettext(
                    "%(count)d attachment is on the report's page.",
                    "%(count)d attachments are on the report's page.",
                    attachments,
                )
                % {"count": attachments}
            ]
            if attachments
            else []
        )
        if message is not None and message.from_marketplace:
            return Content(
                subject=_("New message from the marketplace security team"),
                lead=[_("%(author)s wrote on your report %(number)s:") % {"author": author, "number": number}],
                quote=message.body,
                next_steps=[*extra, _("You can answer on the report's page or by replying to this e-mail.")],
                link_label=link_label,
                link=ticket_url(ticket),
            )
        organization = ticket.organization.name
        return Content(
            subject=_("New message from %(organization)s") % {"organization": organization},
            lead=[
                _("%(author)s (%(organization)s) wrote on report %(number)s:")
                % {"author": author, "organization": organization, "number": number}
            ],
            quote=message.body if message else "",
            facts=_ticket_facts(ticket),
            next_steps=[*extra, _("You can answer on the report's page or by replying to this e-mail.")],
            link_label=link_label,
            link=ticket_url(ticket),
        )
    if kind == "request.created":
        what = _label(REQUEST_LABELS, data.get("kind"))
        facts = [(_("What we need"), what), (_("Due"), when(data.get("due_at"), zone))]
        if data.get("offer"):
            facts.append((_("Offer"), str(data["offer"])))
        return Content(
            subject=_("Action needed by %(due)s: %(what)s") % {"due": when(data.get("due_at"), zone), "what": what},
            lead=[
                _("The marketplace security team needs the following from you for report %(number)s.")
                % {"number": number}
            ],
            facts=facts,
            quote_label=_("Details"),
            quote=str(data.get("description") or ""),
            next_steps=[
                _("Answer on the report's page: mark the request done, decline it with a reason, or ask for more time.")
            ],
            link_label=link_label,
            link=ticket_url(ticket),
        )
    if kind in ("offer.suspend", "offer.delist", "offer.reinstate"):
        offer = str(data.get("offer") or "")
        name = Offer.objects.filter(slug=offer).values_list("name", flat=True).first() or offer
        subjects = {
            "offer.suspend": _("Offer suspended: %(offer)s"),
            "offer.delist": _("Offer delisted: %(offer)s"),
            "offer.reinstate": _("Offer reinstated: %(offer)s"),
        }
        leads = {
            "offer.suspend": _(
                "The marketplace has suspended the offer %(offer)s: it is hidden from new purchases while the "
                "security issue reported in %(number)s is resolved."
            ),
            "offer.delist": _("The marketplace has delisted the offer %(offer)s (report %(number)s)."),
            "offer.reinstate": _("The marketplace has reinstated the offer %(offer)s (report %(number)s)."),
        }
        facts = [(_("Offer"), name), (_("Reason"), str(data.get("reason") or "—"))]
        if data.get("review_date"):
            facts.append((_("Review date"), str(data["review_date"])))
        return Content(
            subject=subjects[kind] % {"offer": name},
            lead=[leads[kind] % {"offer": name, "number": number}],
            facts=facts,
            next_steps=[_("Questions? Reply to this e-mail or write on the report's page.")],
            link_label=link_label,
            link=ticket_url(ticket),
        )
    if kind == "sla.breached":
        clock = _label(CLOCK_LABELS, data.get("clock"))
        return Content(
            subject=_("Deadline missed: %(clock)s") % {"clock": clock},
            lead=[
                _("The %(clock)s deadline of report %(number)s has passed. You receive this as a lead.")
                % {"clock": clock, "number": number}
            ],
            facts=[(_("Deadline"), when(data.get("due_at"), zone)), *_ticket_facts(ticket)],
            link_label=link_label,
            link=ticket_url(ticket),
        )
    if kind == "request.overdue":
        what = _label(REQUEST_LABELS, data.get("kind"))
        return Content(
            subject=_("Publisher request overdue: %(what)s") % {"what": what},
            lead=[
                _(
                    "The publisher has not answered a request on report %(number)s by its due date. "
                    "You receive this as a lead."
                )
                % {"number": number}
            ],
            facts=[
                (_("Request"), str(data.get("request") or "—")),
                (_("What we need"), what),
                (_("Due"), when(data.get("due_at"), zone)),
                *_ticket_facts(ticket),
            ],
            link_label=link_label,
            link=ticket_url(ticket),
        )
    raise ValueError(f"no e-mail is written for {kind!r} events")


def _footer(number: str) -> str:
    return _("This message was sent automatically by the marketplace security desk. Reference: %(number)s.") % {
        "number": number
    }


def render_event(event: TimelineEvent, ticket: Ticket, recipient: User) -> Rendered:
    """Subject, text and HTML of the e-mail about ``event`` to ``recipient``, in their language."""
    language = language_of(recipient.language)
    with translation.override(language):
        content = event_content(event, ticket, recipient)
        context = {
            "language": language,
            "number": ticket.confirmation_number,
            "content": content,
            "footer": _footer(ticket.confirmation_number),
            "reply_hint": _("Reply to this e-mail to answer on the report."),
        }
        subject = tagged(content.subject, ticket.confirmation_number)
        context["subject"] = subject
        text = render_to_string("notices/email/event.txt", context)
        html = render_to_string("notices/email/event.html", context)
    return Rendered(subject=subject, text=text, html=html)


def _headers(ticket: Ticket, message_id: str) -> dict[str, str]:
    root = addresses.thread_id(ticket)
    return {
        "Message-ID": message_id,
        "In-Reply-To": root,
        "References": root,
        "Auto-Submitted": AUTO_SUBMITTED,
        "X-Auto-Response-Suppress": "All",  # Exchange's spelling of the same wish
    }


def delivery_message(delivery: MailDelivery) -> DeskEmail:
    """The e-mail of one ``MailDelivery`` (its event, ticket and recipient loaded or fetched here)."""
    event = delivery.event
    ticket = Ticket.objects.select_related("organization", "assignee").get(pk=delivery.ticket_id)
    rendered = render_event(event, ticket, delivery.recipient)
    message_id = addresses.delivery_message_id(delivery.pk, event.hash)
    message = DeskEmail(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.email],
        reply_to=[addresses.reply_address(ticket)],
        headers=_headers(ticket, message_id),
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


# --- customer notices ------------------------------------------------------------------------------


def markdown_html(text: str) -> SafeString:
    """Markdown written by people, as HTML safe to put in an e-mail (raw HTML off, then cleaned)."""
    rendered = _markdown.render(text)
    cleaned = nh3.clean(rendered, tags=_HTML_TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https", "mailto"})
    return mark_safe(cleaned)  # noqa: S308 — cleaned by nh3 with an allow-list just above


class NoticeRenderer:
    """Renders one approved notice for many recipients: the text is laid out once per language and customer.

    Only the headers differ from one recipient to the next, so a batch of a
    100,000-recipient notice costs one template rendering per language.
    """

    def __init__(self, notice: Notice, version: NoticeVersion) -> None:
        self.notice = notice
        self.ticket = notice.ticket
        self.version = version
        self._cache: dict[tuple[str, str], Rendered] = {}
        self._raw: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        self.envelope_from: str | None = None  # the SMTP MAIL FROM address, worked out once
        self._body_html = markdown_html(version.body)

    def rendered(self, language: str, customer_name: str) -> Rendered:
        key = (language_of(language), customer_name)
        found = self._cache.get(key)
        if found is None:
            found = self._render(*key)
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _render(self, language: str, customer_name: str) -> Rendered:
        number = self.ticket.confirmation_number
        subject = self.version.subject
        # The default subject already names the confirmation number; others get the tag.
        subject = " ".join(subject.split()) if number in subject else tagged(subject, number)
        with translation.override(language):
            context = {
                "language": language,
                "subject": subject,
                "number": number,
                "body": self.version.body,
                "body_html": self._body_html,
                "why": _(
                    "You receive this security notice as a security contact of %(customer)s, "
                    "a customer of the marketplace."
                )
                % {"customer": customer_name},
                "footer": _footer(number),
            }
            text = render_to_string("notices/email/notice.txt", context)
            html = render_to_string("notices/email/notice.html", context)
        return Rendered(subject=subject, text=text, html=html)

    def raw(self, recipient: NoticeRecipient, customer_name: str) -> bytes | None:
        """The same message as :meth:`message`, as SMTP bytes (CRLF), or None for an address the fast path avoids.

        Built once per language and customer with placeholder ``To`` and
        ``Message-ID`` values, then filled in per recipient: serialising a
        multipart MIME message is most of the cost of a message otherwise.
        """
        if not (_PLAIN_ADDRESS.match(recipient.email) and _PLAIN_MESSAGE_ID.match(recipient.message_id)):
            return None
        key = (language_of(recipient.language), customer_name)
        template = self._raw.get(key)
        if template is None:
            if len(self._raw) > 1000:
                self._raw.clear()
            template = self._raw[key] = self._template(*key)
        head, body = template
        head = head.replace(_TO_TOKEN, recipient.email.encode())
        return head.replace(_ID_TOKEN, recipient.message_id.encode()) + body

    def _template(self, language: str, customer_name: str) -> tuple[bytes, bytes]:
        rendered = self.rendered(language, customer_name)
        message = DeskEmail(
            subject=rendered.subject,
            body=rendered.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[_TO_TOKEN.decode()],
            headers=_headers(self.ticket, _ID_TOKEN.decode()),
        )
        message.attach_alternative(rendered.html, "text/html")
        data = message.message(policy=email.policy.SMTP).as_bytes()
        head, sep, body = data.partition(b"\r\n\r\n")
        if head.count(_TO_TOKEN) != 1 or head.count(_ID_TOKEN) != 1 or not sep:
            raise RuntimeError("the notice template lost its placeholders")
        return head, sep + body

    def message(self, recipient: NoticeRecipient, customer_name: str) -> DeskEmail:
        rendered = self.rendered(recipient.language, customer_name)
        message = DeskEmail(
            subject=rendered.subject,
            body=rendered.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[recipient.email],
            headers=_headers(self.ticket, recipient.message_id),
        )
        message.attach_alternative(rendered.html, "text/html")
        return message


def mailed_kinds() -> Sequence[str]:
    """The event kinds that send e-mail (the outbox drain skips the rest)."""
    return (
        "ticket.submitted",
        "ticket.acknowledged",
        "ticket.assessed",
        "message.created",
        "request.created",
        "offer.suspend",
        "offer.delist",
        "offer.reinstate",
        "sla.breached",
        "request.overdue",
    )


__all__ = [
    "AUTO_SUBMITTED",
    "Content",
    "NoticeRenderer",
    "Rendered",
    "delivery_message",
    "event_content",
    "language_of",
    "mailed_kinds",
    "markdown_html",
    "render_event",
]
