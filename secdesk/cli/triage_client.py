"""Client commands for responders, leads and publishers beyond filing: queue, triage, requests, offer actions."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from secdesk.cli.client import Client, print_ticket


def _dump(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2, ensure_ascii=False)
    out.write("\n")


def add_parsers(sub: Any, ticket: Any) -> None:
    """Add ``queue``, ``request`` and ``offer`` commands and the triage ``ticket`` subcommands."""
    queue = sub.add_parser("queue", help="the triage queue: open tickets by what is due first (staff)")
    for name in ("status", "category", "severity", "priority", "offer", "publisher", "assignee", "q", "cursor"):
        queue.add_argument(f"--{name}")
    queue.add_argument("--breached", choices=["true", "false"])
    queue.add_argument("--limit", type=int, default=50)
    queue.add_argument("--json", action="store_true", dest="as_json")

    ack = ticket.add_parser("ack", help="acknowledge with priority and severity")
    ack.add_argument("confirmation_number")
    ack.add_argument("--priority", required=True, choices=["P1", "P2", "P3", "P4"])
    ack.add_argument("--severity", required=True, choices=["critical", "high", "medium", "low", "none"])
    ack.add_argument("--reason", default="")
    ack.add_argument("--exploited", action="store_true", default=None, help="the issue is actively exploited")

    classify = ticket.add_parser("classify", help="change priority/severity later (with a reason)")
    classify.add_argument("confirmation_number")
    classify.add_argument("--priority", choices=["P1", "P2", "P3", "P4"])
    classify.add_argument("--severity", choices=["critical", "high", "medium", "low", "none"])
    classify.add_argument("--exploited", choices=["true", "false"])
    classify.add_argument("--reason", required=True)

    assign = ticket.add_parser("assign", help="claim, assign or unassign")
    assign.add_argument("confirmation_number")
    who = assign.add_mutually_exclusive_group(required=True)
    who.add_argument("--to", metavar="EMAIL")
    who.add_argument("--me", action="store_true")
    who.add_argument("--nobody", action="store_true")

    assess = ticket.add_parser("assess", help="record the assessment outcome")
    assess.add_argument("confirmation_number")
    assess.add_argument(
        "--outcome",
        required=True,
        choices=["confirmed", "not_reproducible", "not_a_security_issue", "duplicate", "needs_information"],
    )
    assess.add_argument("--summary", default="")
    assess.add_argument("--duplicate-of")

    move = ticket.add_parser("move", help="take a lifecycle step: resolve, close, reopen, start_remediation, …")
    move.add_argument("confirmation_number")
    move.add_argument("action")
    move.add_argument("--reason", default="")
    move.add_argument("--close-reason", default="")
    move.add_argument("--duplicate-of", default="")

    withdraw = ticket.add_parser("withdraw", help="withdraw your own ticket (publisher)")
    withdraw.add_argument("confirmation_number")
    withdraw.add_argument("--reason", default="")

    affected = ticket.add_parser("affected", help="affected customers (staff); --csv for CSV")
    affected.add_argument("confirmation_number")
    affected.add_argument("--csv", action="store_true")
    affected.add_argument("--plan", action="append", default=None, metavar="OFFER/PLAN", help="narrow to plans")
    affected.add_argument("--version", action="append", default=None, help="narrow to versions")

    requests_ = ticket.add_parser("requests", help="what the marketplace needs from the publisher")
    requests_.add_argument("confirmation_number")
    requests_.add_argument("--json", action="store_true", dest="as_json")

    request = sub.add_parser("request", help="requests to the publisher").add_subparsers(
        dest="request_command", required=True
    )
    create = request.add_parser("create", help="ask the publisher for something by a due date (staff)")
    create.add_argument("confirmation_number")
    create.add_argument(
        "--kind",
        required=True,
        choices=["information", "affected_versions", "modify_offer", "remove_offer", "approve_notice"],
    )
    create.add_argument("--description", required=True)
    create.add_argument("--due", required=True, metavar="ISO8601")
    create.add_argument("--offer")
    answer = request.add_parser("answer", help="answer a request (publisher)")
    answer.add_argument("request_id")
    answer.add_argument("--response", required=True, choices=["done", "declined", "extension"])
    answer.add_argument("--text", default="")
    answer.add_argument("--reason", default="")
    answer.add_argument("--proposed-due", metavar="ISO8601")
    decide = request.add_parser("decide", help="grant or refuse an extension (staff)")
    decide.add_argument("request_id")
    decide.add_argument("--decision", required=True, choices=["granted", "refused"])
    decide.add_argument("--reason", default="")

    offer = sub.add_parser("offer", help="offers and offer actions").add_subparsers(dest="offer_command", required=True)
    offer.add_parser("list", help="offers you may see")
    actions = offer.add_parser("actions", help="an offer's action history")
    actions.add_argument("slug")
    act = offer.add_parser("act", help="suspend, delist or reinstate an offer (lead)")
    act.add_argument("slug")
    act.add_argument("--action", required=True, choices=["suspend", "delist", "reinstate"])
    act.add_argument("--reason", required=True)
    act.add_argument("--review-date", metavar="YYYY-MM-DD")
    act.add_argument("--ticket", metavar="CONFIRMATION_NUMBER")


def run_queue(api: Client, args: argparse.Namespace, out: TextIO) -> None:
    params = {
        name: getattr(args, name)
        for name in (
            "status",
            "category",
            "severity",
            "priority",
            "offer",
            "publisher",
            "assignee",
            "q",
            "cursor",
            "breached",
        )
        if getattr(args, name)
    }
    params["limit"] = args.limit
    page = api.request("GET", "/queue", params=params)
    if args.as_json:
        _dump(page, out)
        return
    for item in page["items"]:
        due = item.get("due_at") or "-"
        mark = "BREACHED" if item.get("breached") else ""
        out.write(
            f"{item['confirmation_number']:<18} {item['status']:<20} {item.get('severity') or '-':<9} "
            f"{item.get('priority') or '-':<3} due {due:<32} {item['organization']:<12} "
            f"{item.get('assignee') or '-':<28} {mark}\n"
        )
    if page.get("next_cursor"):
        out.write(f"(more: --cursor {page['next_cursor']})\n")


def run_ticket(api: Client, args: argparse.Namespace, out: TextIO) -> bool:
    """Handle a triage ``ticket`` subcommand; False when the subcommand is not one of these."""
    number = getattr(args, "confirmation_number", "")
    command = args.ticket_command
    if command == "ack":
        body: dict[str, Any] = {"priority": args.priority, "severity": args.severity, "reason": args.reason}
        if args.exploited:
            body["actively_exploited"] = True
        print_ticket(api.request("POST", f"/tickets/{number}/acknowledge", json=body), out)
    elif command == "classify":
        body = {"reason": args.reason}
        for name in ("priority", "severity"):
            if getattr(args, name):
                body[name] = getattr(args, name)
        if args.exploited:
            body["actively_exploited"] = args.exploited == "true"
        print_ticket(api.request("POST", f"/tickets/{number}/classification", json=body), out)
    elif command == "assign":
        assignee = "me" if args.me else (None if args.nobody else args.to)
        ticket = api.request("POST", f"/tickets/{number}/assign", json={"assignee": assignee})
        out.write(f"{ticket['confirmation_number']} assigned to {ticket.get('assignee') or 'nobody'}\n")
    elif command == "assess":
        body = {"outcome": args.outcome, "summary": args.summary, "duplicate_of": args.duplicate_of}
        print_ticket(api.request("POST", f"/tickets/{number}/assessment", json=body), out)
    elif command == "move":
        body = {
            "action": args.action,
            "reason": args.reason,
            "close_reason": args.close_reason,
            "duplicate_of": args.duplicate_of,
        }
        print_ticket(api.request("POST", f"/tickets/{number}/transitions", json=body), out)
    elif command == "withdraw":
        body = {"reason": args.reason}
        print_ticket(api.request("POST", f"/tickets/{number}/withdraw", json=body), out)
    elif command == "affected":
        if args.plan is not None or args.version is not None:
            api.request(
                "PUT", f"/tickets/{number}/affected", json={"plans": args.plan or [], "versions": args.version or []}
            )
        if args.csv:
            out.write(api.request("GET", f"/tickets/{number}/affected-customers.csv").text)
        else:
            data = api.request("GET", f"/tickets/{number}/affected-customers")
            out.write(f"{data['count']} affected customers\n")
            for customer in data["customers"]:
                emails = ", ".join(c["email"] for c in customer["contacts"])
                out.write(f"  {customer['slug']:<20} {customer['name']:<30} {emails}\n")
    elif command == "requests":
        items = api.request("GET", f"/tickets/{number}/requests")
        if args.as_json:
            _dump(items, out)
        for item in [] if args.as_json else items:
            out.write(
                f"{item['id']}  {item['kind']:<18} {item['status']:<20} due {item['due_at']}  {item['description']}\n"
            )
    else:
        return False
    return True


def run_request(api: Client, args: argparse.Namespace, out: TextIO) -> None:
    if args.request_command == "create":
        body = {"kind": args.kind, "description": args.description, "due_at": args.due, "offer": args.offer}
        item = api.request("POST", f"/tickets/{args.confirmation_number}/requests", json=body)
    elif args.request_command == "answer":
        body = {"response": args.response, "text": args.text, "reason": args.reason, "proposed_due": args.proposed_due}
        item = api.request("POST", f"/requests/{args.request_id}/answer", json=body)
    else:
        body = {"decision": args.decision, "reason": args.reason}
        item = api.request("POST", f"/requests/{args.request_id}/extension", json=body)
    number, status = item["confirmation_number"], item["status"]
    out.write(f"request {item['id']} on {number}: {item['kind']} — {status}, due {item['due_at']}\n")


def run_offer(api: Client, args: argparse.Namespace, out: TextIO) -> None:
    if args.offer_command == "list":
        for offer in api.request("GET", "/offers"):
            out.write(f"{offer['slug']:<24} {offer['status']:<24} {offer['organization']:<12} {offer['name']}\n")
    elif args.offer_command == "actions":
        for item in api.request("GET", f"/offers/{args.slug}/actions"):
            out.write(
                f"{item['taken_at']}  {item['action']:<9} {item['previous_status']} → {item['new_status']}  "
                f"by {item['taken_by']}  review {item.get('review_date') or '-'}  {item['reason']}\n"
            )
    else:
        body = {
            "action": args.action,
            "reason": args.reason,
            "review_date": args.review_date,
            "confirmation_number": args.ticket,
        }
        item = api.request("POST", f"/offers/{args.slug}/actions", json=body)
        out.write(f"{item['offer']}: {item['previous_status']} → {item['new_status']}\n")


CLIENT_COMMANDS = {"queue", "request", "offer"}


def run(args: argparse.Namespace) -> None:
    api = Client()
    if args.command == "queue":
        run_queue(api, args, sys.stdout)
    elif args.command == "request":
        run_request(api, args, sys.stdout)
    else:
        run_offer(api, args, sys.stdout)
