"""A thread message as the page shows it: a person's text as sanitised Markdown, and what the desk said
itself (``Message.kind``: an assessment result, an offer action) in the reader's language from its facts.

The stored ``body`` of the desk's own messages is English (the API and the e-mail archive read it); a
message whose facts are not understood here is shown as its body.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from django.template.defaultfilters import linebreaksbr
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from secdesk.tickets.models import Message
from secdesk.web.markdown import render_markdown
from secdesk.web.responder.words import OUTCOME

OFFER_ACTION_SAID: Final[dict[str, Promise]] = {
    "suspend": _("The marketplace has suspended the offer %(offer)s: it is hidden from new purchases."),
    "delist": _("The marketplace has delisted the offer %(offer)s."),
    "reinstate": _("The marketplace has reinstated the offer %(offer)s."),
}


def message_html(message: Message) -> SafeString:
    """The message's HTML for the page, in the active language where the desk wrote it."""
    facts: dict[str, Any] = message.facts if isinstance(message.facts, dict) else {}
    if message.kind == Message.Kind.ASSESSMENT and facts.get("outcome") in OUTCOME:
        return _assessment(facts)
    if message.kind == Message.Kind.OFFER_ACTION and facts.get("action") in OFFER_ACTION_SAID:
        return _offer_action(facts)
    return render_markdown(message.body)


def _assessment(facts: dict[str, Any]) -> SafeString:
    parts = [format_html("<p><strong>{}</strong> {}</p>", _("Assessment result:"), OUTCOME[facts["outcome"]])]
    if facts.get("duplicate_of"):
        parts.append(format_html("<p>{} {}</p>", _("Original report:"), facts["duplicate_of"]))
    if facts.get("summary"):
        parts.append(render_markdown(str(facts["summary"])))
    return _joined(parts)


def _offer_action(facts: dict[str, Any]) -> SafeString:
    sentence = OFFER_ACTION_SAID[facts["action"]] % {"offer": facts.get("offer", "")}
    reason = linebreaksbr(str(facts.get("reason", "")), autoescape=True)
    parts = [format_html("<p>{}</p>", sentence), format_html("<p><strong>{}</strong> {}</p>", _("Reason:"), reason)]
    review = _date(facts.get("review_date"))
    if review is not None:
        when = date_format(review, "DATE_FORMAT")
        parts.append(format_html("<p><strong>{}</strong> {}</p>", _("Review date:"), when))
    return _joined(parts)


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _joined(parts: list[SafeString]) -> SafeString:
    # Every part is already escaped (format_html) or sanitised (render_markdown).
    return mark_safe("".join(parts))  # noqa: S308 — see the line above
