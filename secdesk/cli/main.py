"""``secdesk`` — run the desk, administer it, and talk to it.

Server commands (``serve``, ``demo``, ``migrate``, ``worker``, ``token``,
``sla``, ``audit``) work on the local installation; ``ticket`` commands are
an API client for a desk at ``SECDESK_URL`` using ``SECDESK_TOKEN``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from secdesk.cli import client, notice_client, triage_client


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secdesk.settings")
    import django

    django.setup()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="secdesk", description="Security event desk for software marketplaces.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the desk (web, API, background worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("SECDESK_WEB_WORKERS", "2")))
    serve.add_argument("--threads", type=int, default=int(os.environ.get("SECDESK_WEB_THREADS", "1")))
    serve.add_argument("--no-worker", action="store_true", help="do not start a background worker")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")

    worker = sub.add_parser("worker", help="run the background task worker and the periodic schedule")
    worker.add_argument("--no-schedule", action="store_true", help="run tasks only, not the periodic jobs")
    worker.add_argument("--schedule-only", action="store_true", help="run the periodic jobs only, not tasks")

    demo = sub.add_parser("demo", help="load demo data (idempotent) and print the demo users")
    demo.add_argument("--password", help="password for every demo user (default: random, printed)")

    sub.add_parser("migrate", help="create or upgrade the database schema")

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="create a token and print it (only the token, on stdout)")
    create.add_argument("--user", required=True, metavar="EMAIL")
    create.add_argument("--scope", choices=["read", "write"], default="write")
    create.add_argument("--name", default=None)
    create.add_argument("--expires-in", type=int, metavar="DAYS", default=None)
    listing = token.add_parser("list", help="list a user's tokens")
    listing.add_argument("--user", required=True, metavar="EMAIL")
    revoke = token.add_parser("revoke", help="revoke a user's token by name")
    revoke.add_argument("--user", required=True, metavar="EMAIL")
    revoke.add_argument("--name", required=True)

    sla = sub.add_parser("sla", help="service-level clocks").add_subparsers(dest="sla_command", required=True)
    due = sla.add_parser("due", help="print when an acknowledgement is due")
    due.add_argument("--submitted", required=True, metavar="ISO8601")
    due.add_argument("--country")
    due.add_argument("--subdivision")
    due.add_argument("--timezone")
    due.add_argument("--hours", metavar="HH:MM-HH:MM")

    audit = sub.add_parser("audit", help="audit the desk").add_subparsers(dest="audit_command", required=True)
    audit.add_parser("verify", help="verify every ticket's timeline hash chain")
    audit_log = audit.add_parser("log", help="print the security audit log (sign-ins, tokens, roles), newest first")
    audit_log.add_argument("--limit", type=int, default=50, help="how many events (1-500, default 50)")
    audit_log.add_argument("--kind", default=None, help="only events of this kind (sign_in, lockout, ...)")
    audit_log.add_argument("--email", default=None, help="only events about or by this address")

    ticket = sub.add_parser("ticket", help="file and follow tickets (API client)").add_subparsers(
        dest="ticket_command", required=True
    )
    submit = ticket.add_parser("submit", help="file a ticket from a YAML or JSON file ('-' for stdin)")
    submit.add_argument("--file", required=True)
    submit.add_argument("--draft", action="store_true", help="save as a draft instead of submitting")
    submit.add_argument("--json", action="store_true", dest="as_json")
    show = ticket.add_parser("show", help="show a ticket, its timeline and messages")
    show.add_argument("confirmation_number")
    show.add_argument("--json", action="store_true", dest="as_json")
    tlist = ticket.add_parser("list", help="list the tickets you may see")
    tlist.add_argument("--status")
    tlist.add_argument("--limit", type=int, default=50)
    tlist.add_argument("--json", action="store_true", dest="as_json")
    reply = ticket.add_parser("reply", help="post a message, optionally with attachments")
    reply.add_argument("confirmation_number")
    reply.add_argument("--message", required=True)
    reply.add_argument("--attach", action="append", default=[], metavar="FILE")
    reply.add_argument("--internal", action="store_true", help="staff: an internal note")
    triage_client.add_parsers(sub, ticket)
    notice_client.add_parsers(sub)
    sla.add_parser("sweep", help="mark missed deadlines and escalate them to leads (once)")
    gateway = sub.add_parser("mail-gateway", help="receive reply e-mail over LMTP from the local MTA")
    gateway.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    gateway.add_argument("--port", type=int, default=8024, help="port to listen on (default 8024)")
    return parser


def run_ticket(args: argparse.Namespace) -> None:
    api = client.Client()
    out = sys.stdout
    if args.ticket_command == "submit":
        client.ticket_submit(api, args.file, draft=args.draft, as_json=args.as_json, out=out)
    elif args.ticket_command == "show":
        client.ticket_show(api, args.confirmation_number, as_json=args.as_json, out=out)
    elif args.ticket_command == "list":
        client.ticket_list(api, status=args.status, limit=args.limit, as_json=args.as_json, out=out)
    elif args.ticket_command == "reply":
        client.ticket_reply(
            api, args.confirmation_number, message=args.message, attach=args.attach, internal=args.internal, out=out
        )
    else:
        triage_client.run_ticket(api, args, out)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "ticket":
            run_ticket(args)
            return 0
        if args.command == "notice":
            notice_client.run(args)
            return 0
        if args.command in triage_client.CLIENT_COMMANDS:
            triage_client.run(args)
            return 0
        _django()
        from secdesk.cli import admin

        return admin.run(args)
    except client.CliError as exc:
        print(f"secdesk: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
