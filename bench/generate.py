"""Build a large desk on PostgreSQL, fast: N open tickets in one ``INSERT ... SELECT generate_series``.

    python bench/generate.py --tickets 1000000 [--db-name secdesk_bench_queue]
                             [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
                             [--closed-fraction 0] [--orgs 200] [--responders 20] [--seed 0.42]

The database is dropped and created (``DROP DATABASE ... WITH (FORCE)``),
migrated and given the demo data with ``secdesk migrate`` / ``secdesk demo``,
then filled with plain SQL:

* ``--orgs`` extra publisher organisations with 5 offers each (the demo has
  2 with 2 offers each); tickets pick a publisher with a skewed
  distribution (a few large publishers, a long tail);
* ``--responders`` extra staff responders (assignees);
* N tickets, all in open statuses unless ``--closed-fraction`` says
  otherwise: category, status, severity, priority, assignee (30 %
  unassigned; never for ``submitted``), ``due_at`` spread from 30 days ago to
  150 days ahead rounded to the minute (so equal values are common), 5 % with
  no deadline (``NO_DEADLINE``), ``breached`` for most of those past due, a
  search document of 12-19 words drawn with a skewed distribution from a
  security vocabulary plus the ticket's confirmation number and CVE id;
* one or two offers a ticket (of its publisher), in ``tickets_ticket_offers``,
  each row with its ticket's ``status`` and ``due_at`` (``TicketOffer``;
  ``stale_ticket_offers`` in the output counts rows that differ: 0).

The secondary indexes of both tables are dropped before the inserts and
rebuilt after it (faster than maintaining them row by row), then
``VACUUM ANALYZE``. Prints a JSON line with the counts and timings.
Each run is deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "secdesk_bench_queue"
FILL_TRIGGER = "tickets_ticket_offers_keys_fill"

# A security vocabulary; earlier words are drawn more often (index = n * random()^2).
VOCABULARY = [
    "vulnerability",
    "remote",
    "code",
    "execution",
    "authentication",
    "bypass",
    "injection",
    "upload",
    "endpoint",
    "token",
    "session",
    "privilege",
    "escalation",
    "certificate",
    "encryption",
    "password",
    "credential",
    "exposure",
    "leak",
    "storage",
    "bucket",
    "configuration",
    "default",
    "account",
    "admin",
    "console",
    "api",
    "key",
    "secret",
    "rotation",
    "patch",
    "update",
    "version",
    "release",
    "customer",
    "data",
    "tenant",
    "isolation",
    "access",
    "control",
    "denial",
    "service",
    "crash",
    "memory",
    "buffer",
    "overflow",
    "deserialization",
    "template",
    "server",
    "request",
    "forgery",
    "redirect",
    "cookie",
    "header",
    "cache",
    "poisoning",
    "dependency",
    "library",
    "supply",
    "chain",
    "package",
    "signature",
    "verification",
    "firmware",
    "kernel",
    "driver",
    "container",
    "image",
    "registry",
    "pipeline",
    "build",
    "artifact",
    "backup",
    "restore",
    "snapshot",
    "database",
    "query",
    "sql",
    "command",
    "shell",
    "path",
    "traversal",
    "file",
    "inclusion",
    "xml",
    "entity",
    "parser",
    "json",
    "yaml",
    "regex",
    "timeout",
    "race",
    "condition",
    "replay",
    "nonce",
    "random",
    "entropy",
    "hash",
    "collision",
    "downgrade",
    "protocol",
    "tls",
    "cipher",
    "handshake",
    "proxy",
    "gateway",
    "firewall",
    "rule",
    "network",
    "port",
    "scan",
    "brute",
    "force",
    "lockout",
    "mfa",
    "otp",
    "phishing",
    "email",
    "spoofing",
    "dkim",
    "domain",
    "dns",
    "takeover",
    "subdomain",
    "webhook",
    "callback",
    "oauth",
    "scope",
    "consent",
    "client",
    "grant",
    "refresh",
    "jwt",
    "audience",
    "issuer",
    "claim",
    "logging",
    "audit",
    "trail",
    "monitoring",
    "alert",
    "incident",
    "response",
    "forensic",
    "indicator",
    "compromise",
    "malware",
    "ransomware",
    "exfiltration",
    "lateral",
    "movement",
    "persistence",
    "backdoor",
    "implant",
    "beacon",
    "sandbox",
    "escape",
    "hypervisor",
    "virtual",
    "machine",
    "cloud",
    "region",
    "availability",
    "zone",
    "quota",
    "billing",
    "invoice",
    "report",
    "dashboard",
    "widget",
    "plugin",
    "extension",
    "marketplace",
    "listing",
    "publisher",
    "vendor",
    "offer",
    "plan",
    "subscription",
    "license",
    "telemetry",
    "analytics",
    "privacy",
    "consent",
    "retention",
    "deletion",
    "anonymisation",
    "pseudonymisation",
    "gdpr",
]

STATUSES = [  # (status, weight)
    ("submitted", 15),
    ("acknowledged", 15),
    ("assessing", 25),
    ("awaiting_publisher", 15),
    ("remediating", 15),
    ("notifying", 5),
    ("reopened", 10),
]


def _weighted_case(column: str, choices: list[tuple[str, int]]) -> str:
    total = sum(w for _, w in choices)
    parts, acc = [], 0
    for value, weight in choices[:-1]:
        acc += weight
        parts.append(f"WHEN {column} < {acc / total:.6f} THEN '{value}'")
    return f"CASE {' '.join(parts)} ELSE '{choices[-1][0]}' END"


def _psycopg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def reset_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_url(admin_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_url(admin_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(admin_url: str, name: str) -> str:
    base = _psycopg_url(admin_url).rsplit("/", 1)[0]
    return f"{base}/{name}"


def _cli(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECDESK_LOG_LEVEL": "WARNING"}
    env.setdefault("SECDESK_DATA_DIR", str(Path("/tmp") / "secdesk-bench-queue"))  # noqa: S108 — a throw-away data dir
    Path(env["SECDESK_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [PYTHON, "-m", "secdesk.cli.main", *args], env=env, cwd=ROOT, check=True, capture_output=True, timeout=600
    )


def fill(url: str, *, tickets: int, orgs: int, responders: int, closed_fraction: float, seed: float) -> dict[str, Any]:
    """Insert the organisations, offers, responders, tickets and ticket-offer rows; rebuild indexes."""
    import psycopg

    timings: dict[str, float] = {}
    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SELECT setseed(%s)", [seed])
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO accounts_organization (name, slug, created_at) "
            "SELECT 'Bench Publisher ' || g, 'bench-org-' || g, now() FROM generate_series(1, %s) g",
            [orgs],
        )
        conn.execute(
            "INSERT INTO marketplace_offer (organization_id, slug, name, status, security_contact, created_at) "
            "SELECT o.id, o.slug || '-offer-' || k, o.name || ' offer ' || k, 'live', '', now() "
            "FROM accounts_organization o CROSS JOIN generate_series(1, 5) k WHERE o.slug LIKE 'bench-org-%%'"
        )
        conn.execute(
            "INSERT INTO accounts_user (password, is_superuser, email, full_name, staff_role, timezone, language,"
            " is_active, is_staff, date_joined) "
            "SELECT '!', false, 'responder' || g || '@marketplace.example', 'Responder ' || g, 'responder', 'UTC',"
            " 'en', true, false, now() FROM generate_series(1, %s) g",
            [responders],
        )
        # Publishers in a random order, then a skewed pick (a few large publishers, a long tail).
        conn.execute(
            "CREATE TEMP TABLE bench_org AS SELECT (row_number() OVER (ORDER BY random()))::int - 1 AS idx, o.id,"
            " (SELECT array_agg(f.id ORDER BY f.id) FROM marketplace_offer f WHERE f.organization_id = o.id) AS offers"
            " FROM accounts_organization o"
        )
        conn.execute("CREATE UNIQUE INDEX ON bench_org (idx)")
        (org_count,) = conn.execute("SELECT count(*) FROM bench_org").fetchone() or (0,)
        staff = [r[0] for r in conn.execute("SELECT id FROM accounts_user WHERE staff_role = 'responder' ORDER BY id")]
        (creator,) = conn.execute("SELECT id FROM accounts_user WHERE email = 'alice@contoso.example'").fetchone() or (
            staff[0],
        )
        timings["reference_rows_s"] = time.perf_counter() - started

        # Drop the ticket table's secondary indexes (not those backing constraints); rebuilt below.
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i"
            " WHERE i.tablename IN ('tickets_ticket', 'tickets_ticket_offers')"
            " AND i.indexname NOT IN (SELECT c.conname FROM pg_constraint c)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')

        started = time.perf_counter()
        status_case = _weighted_case("r.rs", STATUSES)
        severity_case = _weighted_case(
            "r.rv", [("none", 5), ("low", 20), ("medium", 35), ("high", 30), ("critical", 10)]
        )
        conn.execute(
            f"""
            INSERT INTO tickets_ticket (
                confirmation_number, organization_id, created_by_id, problem_type, category, status,
                description, cvss, cve_ids, cwe_ids, mitigation, remediation_steps, customer_message,
                suggested_severity, severity, priority, assignee_id, actively_exploited, affected_versions,
                affected_customers, assessment_outcome, close_reason, resolution, due_at, remediation_due,
                remediation_paused_seconds, breached, search_document, created_at, updated_at, submitted_at,
                acknowledgement_due, idempotency_fingerprint
            )
            SELECT
                x.number, x.organization_id, %(creator)s, 'security_incident', x.category, x.status,
                x.words, '[]', jsonb_build_array(x.cve), '[]', 'workaround', '', '',
                x.severity, x.severity,
                CASE x.severity WHEN 'critical' THEN 'P1' WHEN 'high' THEN 'P2' WHEN 'medium' THEN 'P3'
                    WHEN '' THEN '' ELSE 'P4' END,
                x.assignee_id, false, '[]', (x.g %% 40), '', x.close_reason, '', x.due_at,
                CASE WHEN x.status IN ('submitted', 'closed', 'resolved') THEN NULL ELSE x.due_at END,
                0, x.due_at < now() AND x.rb < 0.9,
                x.number || E'\\n' || x.words || E'\\n' || x.cve,
                x.submitted_at, x.submitted_at, x.submitted_at, x.submitted_at + interval '1 day', ''
            FROM (
                SELECT
                    g,
                    'SEC-' || upper(lpad(to_hex(g), 10, '0')) AS number,
                    'CVE-2026-' || (10000 + g) AS cve,
                    o.id AS organization_id,
                    CASE WHEN r.rc < 0.7 THEN 'vulnerability' ELSE 'security_incident' END AS category,
                    s.status,
                    CASE WHEN s.status = 'submitted' THEN '' ELSE {severity_case} END AS severity,
                    CASE WHEN s.status = 'submitted' OR r.ra < 0.3 THEN NULL
                        ELSE (%(staff)s::bigint[])[1 + floor(r.ra2 * %(staff_count)s)::int] END AS assignee_id,
                    CASE WHEN s.status IN ('closed', 'resolved') OR r.rn < 0.05
                        THEN '9999-12-31 00:00:00+00'::timestamptz
                        ELSE date_trunc('minute', now() + (r.rd * 180 - 30) * interval '1 day') END AS due_at,
                    CASE WHEN s.status = 'closed' THEN 'withdrawn' ELSE '' END AS close_reason,
                    r.rb,
                    now() - r.rt * interval '365 days' AS submitted_at,
                    array_to_string(ARRAY(
                        SELECT (%(vocab)s::text[])[1 + floor(%(vocab_count)s * power(random(), 2))::int]
                        FROM generate_series(1, 12 + (g %% 8))
                    ), ' ') AS words
                FROM generate_series(1, %(tickets)s) g
                CROSS JOIN LATERAL (
                    SELECT random() + 0 * g AS rs, random() AS rv, random() AS rc, random() AS ra,
                        random() AS ra2, random() AS rd, random() AS rn, random() AS rb, random() AS rt,
                        floor(%(org_count)s * power(random(), 3))::int AS org_idx, random() AS rclosed
                ) r
                JOIN bench_org o ON o.idx = r.org_idx
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN r.rclosed < %(closed)s THEN
                        CASE WHEN r.rs < 0.5 THEN 'closed' ELSE 'resolved' END
                        ELSE {status_case} END AS status
                ) s
            ) x
            """,  # noqa: S608 — fixed SQL built from constants; values are parameters
            {
                "creator": creator,
                "staff": staff,
                "staff_count": len(staff),
                "vocab": VOCABULARY,
                "vocab_count": len(VOCABULARY),
                "tickets": tickets,
                "org_count": org_count,
                "closed": closed_fraction,
            },
        )
        timings["tickets_s"] = time.perf_counter() - started

        # The rows carry their ticket's queue keys (status, due_at), written here from the same join;
        # the trigger that would copy them row by row (migration tickets.0004) is off meanwhile, and
        # the stale-row count below checks the result.
        started = time.perf_counter()
        conn.execute(f"ALTER TABLE tickets_ticket_offers DISABLE TRIGGER {FILL_TRIGGER}")
        conn.execute(
            "INSERT INTO tickets_ticket_offers (ticket_id, offer_id, status, due_at) "
            "SELECT t.id, o.offers[1 + floor(random() * cardinality(o.offers))::int], t.status, t.due_at "
            "FROM tickets_ticket t JOIN bench_org o ON o.id = t.organization_id"
        )
        conn.execute(
            "INSERT INTO tickets_ticket_offers (ticket_id, offer_id, status, due_at) "
            "SELECT t.id, o.offers[1 + floor(random() * cardinality(o.offers))::int], t.status, t.due_at "
            "FROM tickets_ticket t JOIN bench_org o ON o.id = t.organization_id WHERE random() < 0.3 "
            "ON CONFLICT DO NOTHING"
        )
        conn.execute(f"ALTER TABLE tickets_ticket_offers ENABLE TRIGGER {FILL_TRIGGER}")
        timings["ticket_offers_s"] = time.perf_counter() - started

        started = time.perf_counter()
        conn.execute("SET max_parallel_maintenance_workers = 2")
        for _, definition in indexes:
            conn.execute(definition)
        timings["indexes_s"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE tickets_ticket")
        conn.execute("VACUUM ANALYZE tickets_ticket_offers")
        conn.execute("ANALYZE")
        timings["vacuum_analyze_s"] = time.perf_counter() - started

        def one(sql: str) -> Any:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None

        counts = {
            "tickets": one("SELECT count(*) FROM tickets_ticket"),
            "open_tickets": one(
                "SELECT count(*) FROM tickets_ticket WHERE status NOT IN ('closed', 'resolved', 'draft')"
            ),
            "ticket_offers": one("SELECT count(*) FROM tickets_ticket_offers"),
            "stale_ticket_offers": one(
                "SELECT count(*) FROM tickets_ticket_offers l JOIN tickets_ticket t ON t.id = l.ticket_id"
                " WHERE (l.status, l.due_at) IS DISTINCT FROM (t.status, t.due_at)"
            ),
            "organizations": org_count,
            "offers": one("SELECT count(*) FROM marketplace_offer"),
            "table_size": one("SELECT pg_size_pretty(pg_total_relation_size('tickets_ticket'))"),
        }
    if counts["stale_ticket_offers"]:
        raise RuntimeError(f"{counts['stale_ticket_offers']} ticket-offer rows do not carry their ticket's keys")
    return {**counts, **{k: round(v, 1) for k, v in timings.items()}}


def build(
    *,
    tickets: int,
    admin_url: str = ADMIN_URL,
    db_name: str = DB_NAME,
    orgs: int = 200,
    responders: int = 20,
    closed_fraction: float = 0.0,
    seed: float = 0.42,
) -> dict[str, Any]:
    """Drop, create, migrate and fill the benchmark database; returns counts and timings."""
    started = time.perf_counter()
    reset_database(admin_url, db_name)
    url = database_url(admin_url, db_name)
    _cli(url, "migrate")
    _cli(url, "demo", "--password", "bench-password-not-secret-0")
    schema_s = time.perf_counter() - started
    result = fill(url, tickets=tickets, orgs=orgs, responders=responders, closed_fraction=closed_fraction, seed=seed)
    return {
        "bench": "generate",
        "database": db_name,
        "schema_s": round(schema_s, 1),
        **result,
        "total_s": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument(
        "--admin-url",
        "--db-url",
        dest="admin_url",
        default=ADMIN_URL,
        help="a PostgreSQL URL to connect to for DROP/CREATE DATABASE (default: %(default)s)",
    )
    parser.add_argument("--db-name", default=DB_NAME)
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--responders", type=int, default=20)
    parser.add_argument("--closed-fraction", type=float, default=0.0)
    parser.add_argument("--seed", type=float, default=0.42)
    args = parser.parse_args(argv)
    if not 0 <= args.closed_fraction <= 1:
        parser.error("--closed-fraction must be within 0..1")
    result = build(
        tickets=args.tickets,
        admin_url=args.admin_url,
        db_name=args.db_name,
        orgs=args.orgs,
        responders=args.responders,
        closed_fraction=args.closed_fraction,
        seed=args.seed,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
