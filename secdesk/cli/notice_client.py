"""``secdesk notice …``: the customer notice of a ticket, from the command line (API client)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from secdesk.cli.client import EXIT_USAGE, Client, CliError


def add_parsers(sub: Any) -> None:
    notice = sub.add_parser("notice", help="the customer notice of a ticket").add_subparsers(
        dest="notice_command", required=True
    )
    for name, text in (
        ("show", "the current version, approvals and delivery"),
        ("start", "start the notice from the publisher's customer message"),
        ("versions", "every version"),
        ("recipients", "recipients and their delivery state (staff)"),
    ):
        command = notice.add_parser(name, help=text)
        command.add_argument("confirmation_number")
    edit = notice.add_parser("edit", help="save a new version (from the version you edited)")
    edit.add_argument("confirmation_number")
    edit.add_argument("--subject", required=True)
    edit.add_argument("--body-file", required=True, metavar="FILE", help="Markdown body ('-' for stdin)")
    edit.add_argument("--base-version", required=True, type=int)
    diff = notice.add_parser("diff", help="what changed between two versions")
    diff.add_argument("confirmation_number")
    diff.add_argument("--from", dest="from_version", required=True, type=int)
    diff.add_argument("--to", dest="to_version", required=True, type=int)
    approve = notice.add_parser("approve", help="approve the current version (publisher, or a lead)")
    approve.add_argument("confirmation_number")
    approve.add_argument("--version", required=True, type=int)


def _show(notice: dict[str, Any], out: TextIO) -> None:
    approvals = notice.get("approvals") or {}
    out.write(f"Notice of {notice['confirmation_number']} — {notice['status']}, version {notice['version']}\n")
    for side in ("publisher", "marketplace"):
        given = approvals.get(side)
        out.write(f"  {side} approval: {given['by'] + ' at ' + str(given['at']) if given else 'not yet'}\n")
    if notice.get("recipients"):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(notice["recipients"].items()))
        out.write(f"  recipients: {counts}\n")
    out.write(f"Subject: {notice['subject']}\n\n{notice['body']}\n")


def _body(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}", EXIT_USAGE) from None


def run(args: argparse.Namespace, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    api = Client()
    base = f"/tickets/{args.confirmation_number}/notice"
    command = args.notice_command
    if command == "show":
        _show(api.request("GET", base), out)
    elif command == "start":
        _show(api.request("POST", base), out)
    elif command == "edit":
        body = {"subject": args.subject, "body": _body(args.body_file), "base_version": args.base_version}
        _show(api.request("PUT", base, json=body), out)
    elif command == "approve":
        _show(api.request("POST", f"{base}/approve", json={"version": args.version}), out)
    elif command == "versions":
        for version in api.request("GET", f"{base}/versions"):
            when = version.get("created_at", "")
            out.write(f"version {version['number']}  {version['author']}  {when}  {version['subject']}\n")
    elif command == "diff":
        diff = api.request("GET", f"{base}/diff", params={"from": args.from_version, "to": args.to_version})
        out.write(diff["diff"])
    else:
        page = api.request("GET", f"{base}/recipients")
        items = page["items"] if isinstance(page, dict) else page
        for item in items:
            out.write(f"{item['email']:<36} {item['status']:<8} {item.get('customer', '')}\n")
