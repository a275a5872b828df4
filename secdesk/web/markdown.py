"""User-written Markdown (message bodies, customer notices) rendered to HTML that is safe to show.

Two independent layers, so that a mistake in one is caught by the other:

1. markdown-it-py in CommonMark mode with raw HTML switched off: ``<script>`` in the
   text stays text, and its link validator refuses ``javascript:``, ``vbscript:``,
   ``file:`` and ``data:`` targets (such a link stays literal text);
2. nh3 (ammonia) with a strict allow-list of tags, attributes and URL schemes
   cleans whatever comes out; links get ``rel="noopener noreferrer nofollow"``.

Images are not embedded: a notice or message must not make the reader's
browser fetch anything (``![alt](url)`` shows as a link).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["ALLOWED_TAGS", "render_markdown"]

ALLOWED_TAGS: Final = frozenset(
    {
        "p",
        "br",
        "hr",
        "strong",
        "em",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "del",
        "s",
    }
)
ALLOWED_ATTRIBUTES: Final = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
ALLOWED_SCHEMES: Final = frozenset({"http", "https", "mailto"})

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_parser.enable("strikethrough")
_parser.disable("image")  # ![alt](url) stays a plain link to the picture
# Headings inside a message must not compete with the page's own: h1/h2 become h3/h4.
_HEADING_SHIFT: Final = {"h1": "h3", "h2": "h4", "h3": "h5", "h4": "h6", "h5": "h6", "h6": "h6"}


def _shift_headings(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    token.tag = _HEADING_SHIFT.get(token.tag, token.tag)
    return str(renderer.renderToken(tokens, idx, options, env))


_parser.add_render_rule("heading_open", _shift_headings)
_parser.add_render_rule("heading_close", _shift_headings)


def render_markdown(text: str) -> SafeString:
    """Markdown → sanitised HTML, marked safe for templates."""
    html = _parser.render(text or "")
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(cleaned)  # noqa: S308 — sanitised by nh3 with the allow-list above
