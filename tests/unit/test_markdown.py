"""Markdown written by people (messages, customer notices) is rendered inert: markdown-it without HTML, then nh3."""

from __future__ import annotations

import re

import pytest

from secdesk.web.markdown import render_markdown


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](<javascript:alert(1)>)",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<a href='javascript:alert(1)'>x</a>",
        '<svg onload="alert(1)">',
        "![x](javascript:alert(1))",
        "<iframe src=https://evil.example></iframe>",
    ],
)
def test_payloads_stay_text(text):
    html = render_markdown(text)
    assert "<script" not in html
    assert "<img" not in html
    assert "<svg" not in html
    assert "<iframe" not in html
    assert not re.search(r'href="(javascript|vbscript|data):', html, re.IGNORECASE)
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html, re.IGNORECASE)  # no event handler on any tag


def test_formatting_and_safe_links_are_kept():
    html = render_markdown('# Update\n\n**Upgrade** to 4.2.1, see [the advisory](https://contoso.example/a "t").')
    assert "<h3>Update</h3>" in html  # headings shifted below the page's own
    assert "<strong>Upgrade</strong>" in html
    assert '<a href="https://contoso.example/a" title="t" rel="noopener noreferrer nofollow">the advisory</a>' in html


def test_images_are_never_embedded():
    assert render_markdown("![logo](https://contoso.example/logo.png)") == (
        '<p>!<a href="https://contoso.example/logo.png" rel="noopener noreferrer nofollow">logo</a></p>\n'
    )
