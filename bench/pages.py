"""Benchmark: server time of the portal's main pages at 100k tickets, on SQLite and PostgreSQL.

    python bench/pages.py [--db sqlite|postgres] [--tickets 100000] [--closed-fraction 0.6]
                          [--runs 50] [--warmup 5] [--only NAME ...] [--reuse] [--keep]
                          [--explain]

The data:

1. ``bench/generate.py`` builds the PostgreSQL database ``secdesk_bench_pages``
   (``--db-name``): migrated, demo data, 200 more publishers, N tickets (a
   share ``--closed-fraction`` of them resolved or closed);
2. then this script gives those tickets a history the dashboard can show
   (plain SQL, deterministic for a seed): every ticket past ``submitted`` was
   acknowledged 0-36 h after submission (skewed to fast, so some are late),
   breaches where a clock ran out, remediation targets on done tickets (some
   missed), and compacts the table (``VACUUM FULL ANALYZE``, then ``VACUUM`` for the visibility map);
3. for ``--db sqlite`` it makes a fresh SQLite desk (``secdesk migrate``,
   ``secdesk demo`` in ``--data-dir``) and copies the generated rows into it,
   so both databases hold the same tickets;
4. then, through the services, on the database measured: a publisher admin
   of the organisation with the most tickets, a ticket of theirs with a
   thread (10 messages with attachments, a request, a customer notice), some
   offers suspended, delisted or with a modification requested, and a TOTP
   authenticator for the staff (so the two-factor check runs as in production).

The measure: each page of :data:`PAGES` is requested in this process with
Django's test ``Client`` as the person it is for (DEBUG off, the real
middleware; no network, so this is server time), ``--warmup`` times, then
``--runs`` times; p50/p95/p99/max are over the timed runs. One more request
counts the SQL statements. A route that does not resolve yet is skipped (and
said so), and a page that fails is reported while the others are measured, so
the script can be re-run as pages are added. Target: p95 < 100 ms. Prints a
line per page and one ``{"bench": "pages", ...}`` JSON line.

``--reuse`` measures the existing database as it is; ``--keep`` keeps it.
The dashboard is measured computing its figures on every request (the worst
case) unless ``--dashboard-cache-seconds`` (``SECDESK_DASHBOARD_CACHE_SECONDS``,
60 in service) lets the timed requests share the figures the warm-up computed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

_BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(_BENCH.parent))


def _sibling(name: str) -> ModuleType:
    """Import ``bench/<name>.py`` (the bench directory is not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _BENCH / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _sibling("common")
generate = _sibling("generate")

DB_NAME = "secdesk_bench_pages"
DATA_DIR = Path("/tmp/secdesk-bench-pages")  # noqa: S108 — a throw-away data dir
TARGET_MS = 100.0
PUBLISHER = "publisher@bench.example"
STAFF = ("rita@marketplace.example", "leo@marketplace.example", "audrey@marketplace.example")
RESPONDER = "rita@marketplace.example"

# Gives the generated tickets a history (PostgreSQL; run once, right after generate.py).
HISTORY_SQL = [
    "SELECT setseed(0.5)",
    # Acknowledged 0-36 h after submission, most within a few hours; withdrawn tickets included.
    "UPDATE tickets_ticket SET acknowledged_at = submitted_at + (36 * power(random(), 2)) * interval '1 hour'"
    " WHERE status <> 'submitted'",
    "UPDATE tickets_ticket SET ack_breached_at = acknowledgement_due"
    " WHERE acknowledged_at > acknowledgement_due OR (acknowledged_at IS NULL AND acknowledgement_due < now())",
    # Done tickets had a remediation target from their severity (7/30/90/180 days); 60 % of closed ones
    # were closed as resolved; a fifth of done targets, and open ones the generator marked breached, missed.
    "UPDATE tickets_ticket SET remediation_due = acknowledged_at + CASE severity WHEN 'critical' THEN 7"
    " WHEN 'high' THEN 30 WHEN 'medium' THEN 90 ELSE 180 END * interval '1 day'"
    " WHERE status IN ('resolved', 'closed')",
    "UPDATE tickets_ticket SET close_reason = 'resolved', closed_at = remediation_due - interval '1 day'"
    " WHERE status = 'closed' AND random() < 0.6",
    "UPDATE tickets_ticket SET remediation_breached_at = remediation_due WHERE remediation_due < now()"
    " AND (breached OR (status IN ('resolved', 'closed') AND random() < 0.2))",
    "UPDATE tickets_ticket SET breached = true"
    " WHERE ack_breached_at IS NOT NULL OR remediation_breached_at IS NOT NULL",
]
# Copied to SQLite in this order (foreign keys first); rows the SQLite desk already has (the demo's) are kept.
COPIED_TABLES = [
    "accounts_organization",
    "marketplace_offer",
    "accounts_user",
    "tickets_ticket",
    "tickets_ticket_offers",
]


@dataclass(frozen=True)
class PageSpec:
    """One page to measure: a name, who asks, and its URL (``{cn}``: the scene's ticket)."""

    name: str
    who: str
    url: str


#: The main pages. Routes still being built are skipped while they do not resolve.
PAGES = [
    PageSpec("tickets", PUBLISHER, "/tickets/"),
    PageSpec("ticket", PUBLISHER, "/tickets/{cn}/"),
    PageSpec("ticket_new", PUBLISHER, "/tickets/new/"),
    PageSpec("queue", RESPONDER, "/queue/"),
    PageSpec("queue_filter", RESPONDER, "/queue/?severity=critical"),
    PageSpec("queue_search", RESPONDER, "/queue/?q=remote+execution"),
    PageSpec("queue_ticket", RESPONDER, "/queue/{cn}/"),
    PageSpec("dashboard", RESPONDER, "/dashboard/"),
    PageSpec("dashboard_26w", RESPONDER, "/dashboard/?weeks=26"),
    PageSpec("offers", RESPONDER, "/offers/"),
    PageSpec("customers", RESPONDER, "/customers/"),
]


# --- Data --------------------------------------------------------------------------------------------


def build_postgres(args: argparse.Namespace) -> dict[str, Any]:
    """generate.py's desk, then the history the dashboard reads; returns generate's counts and timings."""
    import psycopg

    info = generate.build(
        tickets=args.tickets, admin_url=args.admin_url, db_name=args.db_name, closed_fraction=args.closed_fraction
    )
    started = time.perf_counter()
    url = generate.database_url(args.admin_url, args.db_name)
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in HISTORY_SQL:
            conn.execute(statement)
        # The updates above leave a dead version of most rows: compact, as a desk that grew normally is.
        conn.execute("VACUUM FULL ANALYZE tickets_ticket")
        # VACUUM FULL leaves the visibility map empty, so no scan could be index-only; a plain VACUUM fills it,
        # as autovacuum does on a desk in service.
        conn.execute("VACUUM tickets_ticket")
    info["history_s"] = round(time.perf_counter() - started, 1)
    return info


def _desk_env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "SECDESK_DATA_DIR": str(data_dir), "SECDESK_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    return env


def build_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    """A fresh SQLite desk in ``--data-dir`` holding a copy of the PostgreSQL desk's generated rows."""
    import psycopg

    started = time.perf_counter()
    shutil.rmtree(args.data_dir, ignore_errors=True)
    args.data_dir.mkdir(parents=True)
    env = _desk_env(args.data_dir)
    for command in (["migrate"], ["demo", "--password", common.BENCH_PASSWORD]):
        subprocess.run(
            [common.PYTHON, "-m", "secdesk.cli.main", *command],
            env=env,
            cwd=common.ROOT,
            check=True,
            timeout=600,
            capture_output=True,
        )
    copied: dict[str, int] = {}
    source = psycopg.connect(generate.database_url(args.admin_url, args.db_name))
    target = sqlite3.connect(args.data_dir / "secdesk.sqlite3")
    try:
        _check_same_demo(source, target)
        for table in COPIED_TABLES:
            copied[table] = _copy_table(source, target, table)
        target.commit()
    finally:
        source.close()
        target.close()
    return {"copied": copied, "sqlite_build_s": round(time.perf_counter() - started, 1)}


def _check_same_demo(source: Any, target: sqlite3.Connection) -> None:
    """The copied rows point at the demo's users, organisations and offers by id: those must agree."""
    for table, key in (("accounts_user", "email"), ("accounts_organization", "slug"), ("marketplace_offer", "slug")):
        theirs = dict(target.execute(f"SELECT id, {key} FROM {table}").fetchall())  # noqa: S608 — constants
        ours = dict(source.execute(f"SELECT id, {key} FROM {table} WHERE id = ANY(%s)", [list(theirs)]).fetchall())  # noqa: S608 — constants
        if ours != theirs:
            raise SystemExit(f"{table}: the SQLite desk's demo rows differ from PostgreSQL's; cannot copy")


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # As Django's SQLite backend stores an aware datetime: naive UTC, ISO with a space.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _copy_table(source: Any, target: sqlite3.Connection, table: str) -> int:
    """Rows of ``table`` that the SQLite desk lacks, with the columns both sides have."""
    theirs = [row[1] for row in target.execute(f"PRAGMA table_info({table})")]
    present = {row[0] for row in target.execute(f"SELECT id FROM {table}")}  # noqa: S608 — a constant
    with source.cursor() as probe:
        probe.execute(f"SELECT * FROM {table} LIMIT 0")  # noqa: S608 — a constant
        ours = [column.name for column in probe.description or []]
    columns = [name for name in ours if name in theirs]
    listed = ", ".join(f'"{name}"' for name in columns)
    insert = f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608 — constants
    count = 0
    with source.cursor(name=f"copy_{table}") as cursor:
        cursor.itersize = 5000
        cursor.execute(f"SELECT {listed} FROM {table} ORDER BY id")  # noqa: S608 — constants
        batch: list[tuple[Any, ...]] = []
        for row in cursor:
            if row[0] in present:
                continue
            batch.append(tuple(_sqlite_value(value) for value in row))
            if len(batch) >= 5000:
                target.executemany(insert, batch)
                count += len(batch)
                batch = []
        target.executemany(insert, batch)
        count += len(batch)
    return count


def scene() -> dict[str, Any]:
    """The publisher, their ticket with a thread, offers under action, staff TOTP; idempotent."""
    from allauth.mfa.models import Authenticator
    from django.db import transaction
    from django.db.models import Count

    from secdesk.accounts.actors import actor_for
    from secdesk.accounts.models import Membership, User
    from secdesk.marketplace.models import Offer
    from secdesk.tickets.models import Ticket

    publisher = User.objects.filter(email=PUBLISHER).first()
    if publisher is None:
        with transaction.atomic():
            biggest = (
                Ticket.objects.values("organization_id").annotate(n=Count("id")).order_by("-n").first() or {}
            ).get("organization_id")
            publisher = User.objects.create_user(PUBLISHER, common.BENCH_PASSWORD, full_name="Bench Publisher")
            Membership.objects.create(user=publisher, organization_id=biggest, role="publisher_admin")
            _publisher_ticket(actor_for(publisher))
            _offers_under_action()
    for email in STAFF:
        staff = User.objects.get(email=email)
        if not Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists():
            Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "bench"})
    number = (
        Ticket.objects.filter(created_by=publisher).order_by("id").values_list("confirmation_number", flat=True).first()
    )
    organization = Membership.objects.get(user=publisher).organization
    return {
        "publisher_org": organization.slug,
        "publisher_tickets": Ticket.objects.filter(organization=organization).count(),
        "ticket": number,
        "tickets": Ticket.objects.count(),
        "offers_under_action": Offer.objects.exclude(status="live").count(),
    }


def _publisher_ticket(publisher: Any) -> None:
    from django.utils import timezone

    from secdesk.accounts.actors import actor_for
    from secdesk.accounts.models import User
    from secdesk.domain.intake import Answers
    from secdesk.marketplace.selectors import offers_visible_to
    from secdesk.notices import services as notices
    from secdesk.tickets import services as tickets
    from secdesk.tickets.storage import IncomingFile
    from secdesk.triage import services as triage

    rita = actor_for(User.objects.get(email=RESPONDER))
    offer = offers_visible_to(publisher).order_by("slug").values_list("slug", flat=True).first()
    answers = Answers(
        category="vulnerability",
        offers=(offer,),
        description="Remote code execution in the upload endpoint.",
        cvss_vectors=("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",),
        mitigation="workaround",
        remediation_steps="Disable uploads until 4.2.1 ships.",
        customer_message="Please disable uploads.",
    )
    number = tickets.create_ticket(publisher, answers=answers, submit=True).ticket.confirmation_number
    triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
    for index in range(10):
        tickets.post_message(
            rita if index % 2 else publisher,
            confirmation_number=number,
            body=f"Message {index}: logs and findings.",
            files=[IncomingFile(f"log-{index}.txt", "text/plain", [b"stack trace"])],
        )
    triage.create_request(
        rita,
        confirmation_number=number,
        kind="information",
        description="Which versions are affected?",
        due_at=timezone.now() + timedelta(days=3),
    )
    notices.start_notice(publisher, confirmation_number=number)


def _offers_under_action() -> None:
    """12 offers suspended or delisted by a lead, 6 with a modification requested on one of their tickets."""
    from django.utils import timezone

    from secdesk.accounts.actors import actor_for
    from secdesk.accounts.models import User
    from secdesk.domain import confirmation
    from secdesk.tickets.models import Ticket
    from secdesk.triage import services as triage

    leo = actor_for(User.objects.get(email="leo@marketplace.example"))
    review = timezone.localdate() + timedelta(days=14)
    tickets = (
        Ticket.objects.filter(status="assessing", organization__slug__startswith="bench-org-")
        .prefetch_related("offers")
        .order_by("id")[:60]
    )
    taken = 0
    seen: set[str] = set()
    for ticket in tickets:
        slug = ticket.offers.all()[0].slug
        if slug in seen:
            continue
        seen.add(slug)
        # generate.py's numbers are not valid confirmation numbers (hex, no check symbol): give this one a real one.
        ticket.confirmation_number = confirmation.generate()
        Ticket.objects.filter(pk=ticket.pk).update(confirmation_number=ticket.confirmation_number)
        if taken < 12:
            action = "suspend" if taken % 3 else "delist"
            triage.take_offer_action(
                leo,
                offer=slug,
                action=action,
                reason="Actively exploited.",
                review_date=review,
                confirmation_number=ticket.confirmation_number,
            )
        elif taken < 18:
            triage.create_request(
                leo,
                confirmation_number=ticket.confirmation_number,
                kind="modify_offer",
                offer=slug,
                description="Remove the vulnerable plugin from the listing.",
                due_at=timezone.now() + timedelta(days=7),
            )
        else:
            return
        taken += 1


# --- Measuring -----------------------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _clients() -> Callable[[str], Any]:
    from django.test import Client

    from secdesk.accounts.models import User

    made: dict[str, Any] = {}

    def client_for(email: str) -> Any:
        if email not in made:
            client = Client()
            client.force_login(User.objects.get(email=email))
            made[email] = client
        return made[email]

    return client_for


def measure(pages: list[PageSpec], number: str, runs: int, warmup: int, explain: bool) -> Iterator[dict[str, Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import Resolver404, resolve

    client_for = _clients()
    for spec in pages:
        url = spec.url.format(cn=number)
        try:
            resolve(url.split("?", 1)[0])
        except Resolver404:
            print(f"{spec.name:<14} skipped: {url} does not resolve (not built yet)", flush=True)
            yield {"page": spec.name, "url": url, "skipped": "no such route"}
            continue
        client = client_for(spec.who)
        try:
            for _ in range(warmup):
                client.get(url)
            samples: list[float] = []
            status = 0
            size = 0
            for _ in range(runs):
                started = time.perf_counter_ns()
                response = client.get(url)
                samples.append((time.perf_counter_ns() - started) / 1e6)
                status, size = response.status_code, len(response.content)
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
        except Exception as exc:  # a page being built elsewhere may fail: report it, measure the others
            print(f"{spec.name:<14} failed: {exc!r}"[:300], flush=True)
            yield {"page": spec.name, "url": url, "error": repr(exc)[:300]}
            continue
        result = {
            "page": spec.name,
            "url": url,
            "who": spec.who,
            "status": status,
            "bytes": size,
            "queries": len(captured.captured_queries),
            "p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(_percentile(samples, 0.95), 1),
            "p99_ms": round(_percentile(samples, 0.99), 1),
            "max_ms": round(max(samples), 1),
        }
        result["met"] = status == 200 and result["p95_ms"] < TARGET_MS
        print(
            f"{spec.name:<14} {status} {result['queries']:>3} q  p50 {result['p50_ms']:7.1f}"
            f"  p95 {result['p95_ms']:7.1f}  p99 {result['p99_ms']:7.1f}  max {result['max_ms']:7.1f} ms"
            f"{'' if result['met'] else '  MISSED'}",
            flush=True,
        )
        if explain:
            _explain(captured.captured_queries)
        yield result


def _explain(queries: list[dict[str, Any]]) -> None:
    """The plans of the page's slowest statements."""
    from django.db import connection

    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    for query in sorted(queries, key=lambda q: -float(q["time"]))[:3]:
        print(f"    -- {float(query['time']) * 1000:.1f} ms: {query['sql'][:160]}...")
        with connection.cursor() as cursor:
            cursor.execute(prefix + query["sql"])
            for row in cursor.fetchall():
                print("      ", row[-1])


def _setup_django(args: argparse.Namespace) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "secdesk.settings"
    os.environ.pop("SECDESK_DEMO_RELAX_MFA", None)  # staff pass the two-factor check as in production
    os.environ["SECDESK_LOG_LEVEL"] = "WARNING"
    os.environ["SECDESK_DASHBOARD_CACHE_SECONDS"] = str(args.dashboard_cache_seconds)
    if args.db == "postgres":
        os.environ["DATABASE_URL"] = generate.database_url(args.admin_url, args.db_name)
        os.environ.setdefault("SECDESK_DATA_DIR", str(args.data_dir))
        Path(os.environ["SECDESK_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["SECDESK_DATA_DIR"] = str(args.data_dir)
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--closed-fraction", type=float, default=0.6)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--only", nargs="+", help="measure only these pages (names from the table)")
    parser.add_argument("--admin-url", default=generate.ADMIN_URL)
    parser.add_argument("--db-name", default=DB_NAME)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--reuse", action="store_true", help="measure the existing desk as it is")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database and the data dir")
    parser.add_argument("--explain", action="store_true", help="print the plans of each page's slowest statements")
    parser.add_argument(
        "--dashboard-cache-seconds",
        type=int,
        default=0,
        help="SECDESK_DASHBOARD_CACHE_SECONDS (default 0: every dashboard request computes its figures)",
    )
    args = parser.parse_args(argv)
    pages = [spec for spec in PAGES if not args.only or spec.name in args.only]

    generated: dict[str, Any] = {}
    if not args.reuse:
        generated = build_postgres(args)
        print(json.dumps(generated), flush=True)
        if args.db == "sqlite":
            generated.update(build_sqlite(args))
            print(json.dumps({"sqlite": generated["copied"], "s": generated["sqlite_build_s"]}), flush=True)
    _setup_django(args)
    from django.db import connection, connections

    try:
        prepared = scene()
        print(json.dumps(prepared), flush=True)
        results = list(measure(pages, prepared["ticket"], args.runs, args.warmup, args.explain))
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
            (version,) = cursor.fetchone()
    finally:
        connections.close_all()
        if not args.keep and not args.reuse:
            generate.drop_database(args.admin_url, args.db_name)
            if args.db == "sqlite":
                shutil.rmtree(args.data_dir, ignore_errors=True)
    measured = [r for r in results if "skipped" not in r]
    failed = [r["page"] for r in results if "error" in r]
    print(
        json.dumps(
            {
                "bench": "pages",
                "db": args.db,
                "database_version": version,
                "machine": common.machine(),
                "runs": args.runs,
                "dashboard_cache_seconds": args.dashboard_cache_seconds,
                "warmup": args.warmup,
                "generated": generated,
                "scene": prepared,
                "results": results,
                "targets": {"p95_ms": TARGET_MS, "met": not failed and all(r.get("met") for r in measured)},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
