"""Helpers of the browser tests: watching a page for things it must never do, and axe-core checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[2] / "secdesk" / "web" / "node_modules" / "axe-core" / "axe.min.js"


class PageWatch:
    """What a page did that it must not: open a dialog (an XSS that ran), break the CSP, fail a script."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.csp_violations: list[str] = []
        self.page_errors: list[str] = []

    def attach(self, page: Any) -> None:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        def on_console(message: Any) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                self.csp_violations.append(message.text)

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def assert_clean(self) -> None:
        assert self.dialogs == [], f"a dialog opened: an injected script ran: {self.dialogs}"
        assert self.csp_violations == [], self.csp_violations
        assert self.page_errors == [], self.page_errors


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.1 A/AA rules and best practices) on the page; the serious and critical findings."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed: run npm ci in {AXE.parents[2]} (./dev install does it)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const found = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
            });
            return found.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def assert_accessible(page: Any) -> None:
    found = axe_violations(page)
    assert found == [], json.dumps(found, indent=2)
