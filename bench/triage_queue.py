"""Benchmark: the triage queue selector at 10k, 100k and 1M open tickets on PostgreSQL.

    python bench/triage_queue.py [--sizes 10000 100000 1000000] [--runs 200] [--keep] [--explain FILE]
                                 [--db-name secdesk_bench_queue] [--scenarios offer_small offer_big ...]

For each size it builds a fresh ``secdesk_bench_queue`` database with
``bench/generate.py`` (dropped at the end unless ``--keep``), then calls
``secdesk.triage.selectors.queue`` in this process as a responder and turns
each page into the API's items (``secdesk.api.queue.queue_item``): what
``GET /api/v1/queue`` does minus HTTP and JSON. Scenarios, 50 items a page:

* ``first``: the first page, no filter;
* ``deep``: the page after following ``next_cursor`` 50 pages deep;
* ``severity``: ``severity=critical``;
* ``assignee``: ``assignee=<a responder's e-mail>`` (one more query: the e-mail);
* ``unassigned``: ``assignee=none``;
* ``breached``: ``breached=true``;
* ``offer_big`` / ``offer_small``: ``offer=<slug>`` for the offer with the most
  tickets and for one with about 0.1 % of them (one more query: the slug);
* ``q_common`` / ``q_tail`` / ``q_two`` / ``q_exact``: full-text search for a
  word in about two thirds of the tickets, a word in about 3 %, two words,
  and a CVE id found in a single ticket.

Each scenario is run 10 times to warm up, then ``--runs`` times; p50 and p99
are over the timed runs. Prints a table, the ratio of the largest size to the
smallest, and one ``{"bench": "queue", ...}`` JSON line.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's ``queue`` (which Django's
# dependencies import): take its directory off the import path first.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(_BENCH.parent))


def _sibling(name: str) -> ModuleType:
    """Import ``bench/<name>.py`` (the bench directory is not a package, nor on the path)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _BENCH / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _sibling("common")
generate = _sibling("generate")

STAFF_EMAIL = "rita@marketplace.example"
DEEP_PAGES = 50
TARGET_P99_MS = 50.0
TARGET_RATIO = 2.0


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secdesk.settings")
    os.environ.setdefault("SECDESK_DATA_DIR", "/tmp/secdesk-bench-queue")  # noqa: S108 — a throw-away data dir
    Path(os.environ["SECDESK_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    import django

    django.setup()


def _scenarios(size: int) -> dict[str, dict[str, Any]]:
    """Filter values chosen from the data (the offers by their ticket counts)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.slug, count(*) FROM tickets_ticket_offers t JOIN marketplace_offer o ON o.id = t.offer_id"
            " GROUP BY o.slug ORDER BY count(*) DESC, o.slug"
        )
        offers = cursor.fetchall()
        cursor.execute("SELECT cve_ids->>0 FROM tickets_ticket ORDER BY id LIMIT 1 OFFSET %s", [size // 2])
        (cve,) = cursor.fetchone()
    small_target = max(10, size // 1000)
    offer_small = min(offers, key=lambda row: (abs(row[1] - small_target), row[0]))[0]
    return {
        "first": {},
        "deep": {},  # the cursor is filled in by run()
        "severity": {"severity": "critical"},
        "assignee": {"assignee": "responder1@marketplace.example"},
        "unassigned": {"assignee": "none"},
        "breached": {"breached": True},
        "offer_big": {"offer": offers[0][0]},
        "offer_small": {"offer": offer_small},
        "q_common": {"q": "vulnerability"},
        "q_tail": {"q": "pseudonymisation"},
        "q_two": {"q": "remote execution"},
        "q_exact": {"q": cve},
    }


def _timed(call: Callable[[], int], runs: int) -> tuple[list[float], int]:
    for _ in range(10):
        call()
    samples: list[float] = []
    rows = 0
    for _ in range(runs):
        started = time.perf_counter_ns()
        rows = call()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples, rows


def run(size: int, runs: int, explain: Any, only: list[str] | None = None) -> list[dict[str, Any]]:
    from zoneinfo import ZoneInfo

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from secdesk.accounts.actors import actor_for
    from secdesk.accounts.models import User
    from secdesk.api.queue import queue_item
    from secdesk.triage.selectors import queue

    actor = actor_for(User.objects.get(email=STAFF_EMAIL))
    zone = ZoneInfo("UTC")
    scenarios = _scenarios(size)
    cursor = None
    for _ in range(DEEP_PAGES):
        cursor = queue(actor, cursor=cursor).next_cursor
    scenarios["deep"] = {"cursor": cursor}
    if only:
        unknown = sorted(set(only) - set(scenarios))
        if unknown:
            raise SystemExit(f"unknown scenarios: {', '.join(unknown)} (known: {', '.join(scenarios)})")
        scenarios = {name: filters for name, filters in scenarios.items() if name in only}

    results = []
    for name, filters in scenarios.items():

        def call(filters: dict[str, Any] = filters) -> int:
            page = queue(actor, **filters)
            return len([queue_item(ticket, zone) for ticket in page.items])

        samples, rows = _timed(call, runs)
        result = {
            "size": size,
            "scenario": name,
            "filters": {k: v for k, v in filters.items() if k != "cursor"},
            "rows": rows,
            "p50_ms": round(statistics.median(samples), 2),
            "p99_ms": round(_percentile(samples, 0.99), 2),
            "max_ms": round(max(samples), 2),
        }
        results.append(result)
        print(
            f"{size:>9,} {name:<12} rows={rows:<3} p50={result['p50_ms']:7.2f} ms  p99={result['p99_ms']:7.2f} ms",
            flush=True,
        )
        if explain is not None:
            with CaptureQueriesContext(connection) as captured:
                call()
            main = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "tickets_ticket"."id"')]
            with connection.cursor() as db:
                db.execute("EXPLAIN (ANALYZE, BUFFERS) " + main[0])
                plan = "\n".join(row[0] for row in db.fetchall())
            explain.write(f"## {size} {name} {filters}\n{plan}\n\n")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--admin-url", default=generate.ADMIN_URL)
    parser.add_argument("--db-name", default=generate.DB_NAME)
    parser.add_argument("--keep", action="store_true", help="keep the last database")
    parser.add_argument("--reuse", action="store_true", help="with one size: use the existing database as it is")
    parser.add_argument("--explain", type=Path, help="write EXPLAIN (ANALYZE, BUFFERS) of every scenario here")
    parser.add_argument("--scenarios", nargs="+", metavar="NAME", help="run only these scenarios (default: all)")
    args = parser.parse_args(argv)
    if args.reuse and len(args.sizes) != 1:
        parser.error("--reuse takes one size")

    url = generate.database_url(args.admin_url, args.db_name)
    _setup_django(url)
    from django.db import connection, connections

    explain = args.explain.open("w") if args.explain else None
    generated = []
    results: list[dict[str, Any]] = []
    try:
        for size in args.sizes:
            connections.close_all()
            if not args.reuse:
                info = generate.build(tickets=size, admin_url=args.admin_url, db_name=args.db_name)
                generated.append(info)
                print(json.dumps(info), flush=True)
            results.extend(run(size, args.runs, explain, args.scenarios))
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            (server_version,) = cursor.fetchone()
    finally:
        connections.close_all()
        if explain is not None:
            explain.close()
        if not args.keep and not args.reuse:
            generate.drop_database(args.admin_url, args.db_name)

    smallest, largest = min(args.sizes), max(args.sizes)
    by_key = {(r["size"], r["scenario"]): r for r in results}
    ratios = {}
    if smallest != largest:
        print(f"\nratio {largest:,} / {smallest:,}")
        for name in dict.fromkeys(r["scenario"] for r in results):
            low, high = by_key[(smallest, name)], by_key[(largest, name)]
            ratios[name] = {
                "p50": round(high["p50_ms"] / low["p50_ms"], 2),
                "p99": round(high["p99_ms"] / low["p99_ms"], 2),
            }
            print(f"  {name:<12} p50 x{ratios[name]['p50']:.2f}  p99 x{ratios[name]['p99']:.2f}")
    worst_p99 = max(r["p99_ms"] for r in results)
    worst_ratio = max((v["p99"] for v in ratios.values()), default=None)
    print(
        json.dumps(
            {
                "bench": "queue",
                "machine": {**common.machine(), "postgresql": server_version},
                "runs": args.runs,
                "generated": generated,
                "results": results,
                "ratios": ratios,
                "targets": {
                    "p99_ms": TARGET_P99_MS,
                    "ratio": TARGET_RATIO,
                    "worst_p99_ms": worst_p99,
                    "worst_p99_ratio": worst_ratio,
                    "met": worst_p99 < TARGET_P99_MS and (worst_ratio is None or worst_ratio < TARGET_RATIO),
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
