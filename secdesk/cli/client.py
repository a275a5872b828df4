"""The API client behind ``secdesk ticket …``: talks to a desk at ``SECDESK_URL`` with ``SECDESK_TOKEN``.

Errors come back as RFC 9457 problems; they are printed field by field on
stderr and turned into a non-zero exit code.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import requests
import yaml

EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
TIMEOUT = 30


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_API_ERROR) -> None:
        super().__init__(message)
        self.code = code


class Client:
    def __init__(self, base_url: str | None = None, token: str | None = None) -> None:
        self.base_url = (base_url or os.environ.get("SECDESK_URL") or "http://127.0.0.1:8000").rstrip("/")
        self.token = token if token is not None else os.environ.get("SECDESK_TOKEN", "")
        if not self.token:
            raise CliError("SECDESK_TOKEN is not set: create one with `secdesk token create --user EMAIL`", EXIT_USAGE)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        self.session.headers["User-Agent"] = "secdesk-cli"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/api/v1{path}"
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.ConnectionError:
            raise CliError(
                f"cannot reach the desk at {self.base_url} (is it running? check SECDESK_URL)", EXIT_UNREACHABLE
            ) from None
        except requests.Timeout:
            raise CliError(f"the desk at {self.base_url} did not answer in {TIMEOUT} s", EXIT_UNREACHABLE) from None
        if response.status_code >= 400:
            raise CliError(describe_problem(response))
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return response.json()
        return response


def describe_problem(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"error {response.status_code} from the desk"
    lines = [f"error {response.status_code}: {body.get('detail') or body.get('title')}"]
    for item in body.get("errors") or []:
        metric = f" [metric {item['metric']}]" if item.get("metric") else ""
        lines.append(f"  {item.get('field')}: {item.get('message')}{metric}")
    return "\n".join(lines)


def load_ticket_file(path: str) -> dict[str, Any]:
    source = sys.stdin.read() if path == "-" else _read(path)
    try:
        data = yaml.safe_load(source) if not path.endswith(".json") else json.loads(source)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise CliError(f"{path}: not valid YAML/JSON: {exc}", EXIT_USAGE) from None
    if not isinstance(data, dict):
        raise CliError(f"{path}: expected a mapping of ticket fields", EXIT_USAGE)
    return data


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}", EXIT_USAGE) from None


def _line(out: TextIO, label: str, value: object) -> None:
    if value not in (None, "", []):
        out.write(f"{label:<22}{value}\n")


def print_ticket(ticket: dict[str, Any], out: TextIO) -> None:
    _line(out, "Confirmation number", ticket["confirmation_number"])
    _line(out, "Status", ticket["status"])
    _line(out, "Category", ticket["category"])
    _line(out, "Offers", ", ".join(ticket.get("offers", [])))
    _line(out, "Severity", ticket.get("severity"))
    _line(out, "Suggested severity", ticket.get("suggested_severity"))
    _line(out, "Priority", ticket.get("priority"))
    _line(out, "Acknowledgement due", ticket.get("acknowledgement_due"))
    for score in ticket.get("cvss", []):
        _line(out, "CVSS", f"{score['vector']}  {score['base_score']} {score['severity']}")
    _line(out, "CVE", ", ".join(ticket.get("cve_ids", [])))
    _line(out, "CWE", ", ".join(ticket.get("cwe_ids", [])))
    if ticket.get("timeline"):
        out.write("Timeline\n")
        for event in ticket["timeline"]:
            out.write(f"  {event['at']}  {event['kind']:<24} {event['actor']}\n")


def print_messages(messages: Sequence[dict[str, Any]], out: TextIO) -> None:
    for item in messages:
        tag = " (internal note)" if item.get("internal") else ""
        out.write(f"--- {item['created_at']}  {item['author']}{tag}\n{item['body']}\n")
        for attachment in item.get("attachments", []):
            out.write(
                f"    [attachment] {attachment['filename']} {attachment['size']} bytes sha256 {attachment['sha256']}\n"
            )


def ticket_submit(client: Client, path: str, *, draft: bool, as_json: bool, out: TextIO) -> None:
    data = load_ticket_file(path)
    data.setdefault("submit", not draft)
    # One key per invocation: a retry after a lost answer cannot file the ticket twice.
    headers = {"Idempotency-Key": f"cli-{uuid.uuid4()}"}
    try:
        ticket = client.request("POST", "/tickets", json=data, headers=headers)
    except CliError as exc:
        if exc.code != EXIT_UNREACHABLE:
            raise
        ticket = client.request("POST", "/tickets", json=data, headers=headers)
    if as_json:
        json.dump(ticket, out, indent=2)
        out.write("\n")
        return
    print_ticket(ticket, out)


def ticket_show(client: Client, number: str, *, as_json: bool, out: TextIO) -> None:
    ticket = client.request("GET", f"/tickets/{number}")
    messages = client.request("GET", f"/tickets/{number}/messages")
    if as_json:
        json.dump({**ticket, "messages": messages}, out, indent=2)
        out.write("\n")
        return
    print_ticket(ticket, out)
    if messages:
        out.write("Messages\n")
        print_messages(messages, out)


def ticket_list(client: Client, *, status: str | None, limit: int, as_json: bool, out: TextIO) -> None:
    params: dict[str, Any] = {"limit": min(limit, 100)}
    if status:
        params["status"] = status
    items: list[dict[str, Any]] = []
    while len(items) < limit:
        page = client.request("GET", "/tickets", params=params)
        items.extend(page["items"])
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    items = items[:limit]
    if as_json:
        json.dump(items, out, indent=2)
        out.write("\n")
        return
    for ticket in items:
        out.write(
            f"{ticket['confirmation_number']:<18} {ticket['status']:<20} {ticket['category']:<18} "
            f"{ticket.get('severity') or '-':<9} {ticket.get('priority') or '-':<3} {','.join(ticket['offers'])}\n"
        )


def ticket_reply(
    client: Client, number: str, *, message: str, attach: Sequence[str], internal: bool, out: TextIO
) -> None:
    handles = []
    try:
        for path in attach:
            try:
                handles.append(open(path, "rb"))  # noqa: SIM115 — closed in the finally below
            except OSError as exc:
                raise CliError(f"cannot read {path}: {exc}", EXIT_USAGE) from None
        if handles:
            files = [("files", (Path(h.name).name, h, "application/octet-stream")) for h in handles]
            data = {"body": message, "internal": "true" if internal else "false"}
            result = client.request("POST", f"/tickets/{number}/messages", data=data, files=files)
        else:
            result = client.request("POST", f"/tickets/{number}/messages", json={"body": message, "internal": internal})
    finally:
        for handle in handles:
            handle.close()
    out.write(f"Message {result['id']} posted on {number}\n")
    for attachment in result.get("attachments", []):
        out.write(f"  attached {attachment['filename']} ({attachment['size']} bytes, sha256 {attachment['sha256']})\n")
