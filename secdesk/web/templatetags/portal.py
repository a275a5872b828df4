"""Template helpers of the portal: times in the reader's timezone, readable labels, safe Markdown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from secdesk.tickets.models import Message
from secdesk.web import labels, message_text
from secdesk.web.markdown import render_markdown

register = template.Library()

_TABLES = {
    "status": labels.STATUS,
    "severity": labels.SEVERITY,
    "category": labels.CATEGORY,
    "problem_type": labels.PROBLEM_TYPE,
    "mitigation": labels.MITIGATION,
    "request_kind": labels.REQUEST_KIND,
    "request_status": labels.REQUEST_STATUS,
    "notice_status": labels.NOTICE_STATUS,
}


@register.simple_tag(takes_context=True)
def when(context: template.Context, value: datetime | None, style: str = "DATETIME_FORMAT") -> SafeString | str:
    """``<time>`` for ``value`` in the reader's timezone and language, with the zone named."""
    if value is None:
        return ""
    zone = context.get("user_zone")
    local = timezone.localtime(value, zone) if zone is not None else value
    text = date_format(local, style)
    if style == "DATETIME_FORMAT":
        return format_html(
            '<time datetime="{}">{} <span class="zone">{}</span></time>',
            local.isoformat(),
            text,
            context.get("user_zone_name", ""),
        )
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), text)


@register.filter
def readable(value: Any, table: str) -> str:
    """``{{ ticket.status|readable:"status" }}`` → "Waiting for you" (translated)."""
    return labels.label(_TABLES[table], str(value) if value is not None else "")


@register.filter
def markdown(value: str | None) -> SafeString:
    """Markdown written by a person, as sanitised HTML (see ``secdesk.web.markdown``)."""
    return render_markdown(value or "")


@register.filter
def errors_for(errors: dict[str, list[str]] | None, name: str) -> list[str]:
    return (errors or {}).get(name, [])


@register.filter
def message_html(message: Message) -> SafeString:
    """A thread message in the reader's language where the desk wrote it (``secdesk.web.message_text``)."""
    return message_text.message_html(message)
