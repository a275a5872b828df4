"""The server-side commands of ``secdesk`` (Django is set up before this module is imported)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management import call_command

from secdesk import demo
from secdesk.accounts import audit as security_audit
from secdesk.accounts import tokens
from secdesk.accounts.models import ApiToken, User
from secdesk.cli.client import EXIT_API_ERROR, EXIT_USAGE, CliError
from secdesk.domain.calendar import BusinessCalendar
from secdesk.domain.errors import DomainError, InvalidInput
from secdesk.tickets import audit
from secdesk.tickets.clock import desk_calendar
from secdesk.triage.services import sweep


def _user(email: str) -> User:
    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        raise CliError(f"no user {email!r}", EXIT_USAGE)
    return user


def _migrate(verbosity: int = 0) -> None:
    """Apply migrations and create the database cache table (used when SECDESK_REDIS_URL is unset)."""
    call_command("migrate", interactive=False, verbosity=verbosity)
    call_command("createcachetable", verbosity=verbosity)


def migrate(_args: argparse.Namespace) -> int:
    _migrate(verbosity=1)
    return 0


def serve(args: argparse.Namespace) -> int:
    """Run migrations, then granian (WSGI) and a background worker until interrupted."""
    if not args.no_migrate:
        _migrate()
    if settings.PRODUCTION:
        call_command("collectstatic", interactive=False, verbosity=0)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "secdesk.settings"}
    children: list[subprocess.Popen[bytes]] = []
    web = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "secdesk.wsgi:application",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--workers",
        str(args.workers),
        "--blocking-threads",
        str(args.threads),
        "--backlog",
        "2048",
        "--no-ws",
        "--log-level",
        "warning",
    ]
    children.append(subprocess.Popen(web, env=env))  # noqa: S603 — fixed argv, our own interpreter
    if not args.no_worker:
        worker = [sys.executable, "-m", "secdesk.cli.main", "worker"]
        children.append(subprocess.Popen(worker, env=env))  # noqa: S603 — fixed argv, our own interpreter
    print(f"secdesk serving on http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)

    def stop(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        # The desk is down if its web server is: wait for it, then stop the rest.
        code = children[0].wait()
    finally:
        stop(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0 if code in (0, -signal.SIGTERM) else code


def worker(args: argparse.Namespace) -> int:
    """The task worker of the configured backend, with the periodic schedule (``secdesk/schedule.py``) in a thread.

    Several workers may run side by side: the schedule's jobs are idempotent and
    claimed per tick with a conditional UPDATE (see the schedule's docstring).
    """
    from secdesk import schedule

    if getattr(args, "schedule_only", False):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
        signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
        schedule.Scheduler().run_forever(stop)
        return 0
    running = None if getattr(args, "no_schedule", False) else schedule.start_thread()
    try:
        if getattr(settings, "TASKS_BACKEND", "database") == "redis":
            call_command("run_redis_tasks", continuous=True, verbosity=1)
        else:
            call_command("db_worker", interval=1, reload=False, verbosity=1)
    finally:
        if running is not None:
            running.stop()
    return 0


def load_demo(args: argparse.Namespace) -> int:
    _migrate()
    users = demo.load(args.password)
    print("Demo data loaded. Demo users:")
    for user in users:
        password = user.password or "(unchanged — pass --password to set one)"
        print(f"  {user.email:<30} {user.role:<40} password: {password}")
    return 0


def token(args: argparse.Namespace) -> int:
    user = _user(args.user)
    if args.token_command == "create":  # noqa: S105 — a subcommand name, not a password
        name = args.name or f"cli-{datetime.now().strftime('%Y%m%d%H%M%S%f')}"
        issued = tokens.create_token(user=user, name=name, scope=args.scope, expires_in_days=args.expires_in, via="cli")
        print(issued.secret)
        return 0
    if args.token_command == "list":  # noqa: S105 — a subcommand name, not a password
        for item in ApiToken.objects.filter(user=user).order_by("created_at"):
            state = "revoked" if item.revoked_at else "active"
            print(
                f"{item.name:<28} {item.prefix}…  {item.scope:<5} {state:<7} "
                f"created {item.created_at:%Y-%m-%d} expires {item.expires_at or 'never'} "
                f"last used {item.last_used_at or 'never'}"
            )
        return 0
    count = tokens.revoke_token(user=user, name=args.name, via="cli")
    if not count:
        raise CliError(f"{args.user} has no active token named {args.name!r}", EXIT_USAGE)
    print(f"revoked {count} token(s)")
    return 0


def sla(args: argparse.Namespace) -> int:
    if args.sla_command == "sweep":
        report = sweep()
        print(
            f"breaches marked: acknowledgement {report.acknowledgement}, remediation {report.remediation}, "
            f"request {report.request}; escalated to {', '.join(report.escalated_to) or 'no lead'}"
        )
        return 0
    base = desk_calendar()
    try:
        start, end = BusinessCalendar.parse_hours(args.hours) if args.hours else (base.start, base.end)
        calendar = BusinessCalendar(
            timezone=args.timezone or base.timezone,
            country=args.country.upper() if args.country else base.country,
            subdivision=args.subdivision or (None if args.country else base.subdivision),
            start=start,
            end=end,
        )
        calendar.validate()
        try:
            submitted = datetime.fromisoformat(args.submitted)
        except ValueError:
            raise CliError(f"--submitted: {args.submitted!r} is not an ISO 8601 date-time", EXIT_USAGE) from None
        if submitted.tzinfo is None:
            submitted = submitted.replace(tzinfo=ZoneInfo(calendar.timezone))
        print(calendar.acknowledgement_due(submitted).isoformat())
    except InvalidInput as exc:
        raise CliError("; ".join(f"--{e.field}: {e.message}" for e in exc.errors), EXIT_USAGE) from None
    return 0


def audit_log(args: argparse.Namespace) -> int:
    """The security audit log, newest first (the server's operator reads it all)."""
    page = security_audit.list_events(None, kind=args.kind, email=args.email, limit=args.limit)
    for event in page.items:
        data = json.dumps(event.data, sort_keys=True, ensure_ascii=False) if event.data else ""
        line = (
            f"{event.at:%Y-%m-%dT%H:%M:%SZ} {event.id:>7} {event.kind:<24} actor={event.actor_email or '-'} "
            f"subject={event.subject_email or '-'} ip={event.ip or '-'} {data}"
        )
        print(line.rstrip())
    if not page.items:
        print("no audit events", file=sys.stderr)
    return 0


def audit_command(args: argparse.Namespace) -> int:
    return audit_log(args) if args.audit_command == "log" else audit_verify(args)


def audit_verify(_args: argparse.Namespace) -> int:
    report = audit.verify_all()
    for number, breaks in report.broken.items():
        for item in breaks:
            print(f"{number}: event {item.seq}: {item.reason}")
    print(
        f"checked {report.tickets} tickets, {report.events} events: "
        f"{'all chains intact' if not report.broken else f'{len(report.broken)} broken'}"
    )
    return EXIT_API_ERROR if report.broken else 0


def mail_gateway(args: argparse.Namespace) -> int:
    """Serve LMTP until SIGTERM or Ctrl-C (see ``secdesk/inbound/gateway.py``)."""
    import threading

    from django.conf import settings

    from secdesk.inbound import checks, gateway

    controller, handler = gateway.start(args.host, args.port)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopped.set())
    signal.signal(signal.SIGINT, lambda _signum, _frame: stopped.set())
    print(f"secdesk mail gateway: LMTP on {args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    if not settings.INBOUND_AUTHSERV_ID:
        print(f"warning: {checks.MESSAGE} {checks.HINT}", file=sys.stderr, flush=True)
    try:
        stopped.wait()
    finally:
        controller.stop()
        handler.close()
    return 0


COMMANDS = {
    "serve": serve,
    "worker": worker,
    "demo": load_demo,
    "migrate": migrate,
    "token": token,
    "sla": sla,
    "audit": audit_command,
    "mail-gateway": mail_gateway,
}


def run(args: argparse.Namespace) -> int:
    try:
        return int(COMMANDS[args.command](args))
    except DomainError as exc:
        raise CliError(exc.message, EXIT_USAGE) from None
