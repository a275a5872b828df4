"""Benchmark: the breach sweep over N open tickets on PostgreSQL (not a test).

    python bench/sweep.py [--tickets 1000000] [--runs 20] [--keep]

Builds the dataset with ``bench/generate.py`` (all tickets open, deadlines
spread from 30 days ago to 150 days ahead, none marked yet), then times:

* the **catch-up** sweep: the first sweep over a desk that has never been
  swept, which must mark every deadline already missed (one-off: tens of
  thousands of breaches at 1M tickets);
* the **steady-state** sweep, as the scheduler runs it: ``--runs`` sweeps,
  each a minute later than the one before, so each marks only what became
  overdue in that minute. Target: < 2 s at 1M open tickets.

Prints a table and one JSON line. The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
# bench/ must not shadow standard modules for the libraries imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402
from types import ModuleType  # noqa: E402

sys.path.insert(0, str(_BENCH.parent))


def _sibling(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _BENCH / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _sibling("common")
generate = _sibling("generate")
DB_NAME = "secdesk_bench_sweep"
TARGET_S = 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--admin-url", default=generate.ADMIN_URL)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    built = generate.build(tickets=args.tickets, admin_url=args.admin_url, db_name=DB_NAME)
    print(f"dataset: {json.dumps(built)}", flush=True)
    os.environ["DATABASE_URL"] = generate.database_url(args.admin_url, DB_NAME)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secdesk.settings")
    os.environ.setdefault("SECDESK_DATA_DIR", "/tmp/secdesk-bench-sweep")  # noqa: S108 — a throw-away data dir
    Path(os.environ["SECDESK_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.utils import timezone

    from secdesk.tickets.models import Ticket
    from secdesk.triage.services import sweep

    try:
        open_tickets = Ticket.objects.exclude(status__in=["closed", "resolved", "draft"]).count()
        now = timezone.now()
        started = time.perf_counter()
        first = sweep(now)
        catch_up_s = time.perf_counter() - started
        steady: list[float] = []
        marked = 0
        for minute in range(1, args.runs + 1):
            started = time.perf_counter()
            report = sweep(now + timedelta(minutes=minute))
            steady.append(time.perf_counter() - started)
            marked += report.total
        p50 = statistics.median(steady)
        p99 = sorted(steady)[max(0, round(0.99 * (len(steady) - 1)))]
        result = {
            "bench": "sweep",
            "open_tickets": open_tickets,
            "catch_up": {"seconds": round(catch_up_s, 2), "breaches": first.total},
            "steady": {"runs": args.runs, "p50_s": round(p50, 3), "p99_s": round(p99, 3), "breaches": marked},
            "target_s": TARGET_S,
            "machine": common.machine() if hasattr(common, "machine") else {},
        }
        print(f"open tickets            {open_tickets}")
        print(f"catch-up sweep          {catch_up_s:.2f} s, {first.total} breaches marked (one-off)")
        print(f"steady sweep (1 min)    p50 {p50:.3f} s, p99 {p99:.3f} s, {marked} breaches over {args.runs} runs")
        print(f"target < {TARGET_S} s: {'PASS' if p99 < TARGET_S else 'FAIL'}")
        print(json.dumps(result, sort_keys=True))
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            generate.drop_database(args.admin_url, DB_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
