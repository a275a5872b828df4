"""Benchmark: N concurrent API clients submitting tickets to a running ``secdesk serve``.

    python bench/submit.py --db sqlite --clients 16 --duration 20 [--warmup 3]
    python bench/submit.py --db postgres --clients 16 --duration 20 --workers 2 --threads 4
    python bench/submit.py --url http://127.0.0.1:8000 --token sdt_... --clients 16 --duration 20

Without ``--url`` it builds a throw-away desk (fresh data directory; for
PostgreSQL the ``secdesk_bench`` database is dropped and created), serves it
with ``secdesk serve --no-worker`` on a free port of 127.0.0.1, runs the load
and stops the server. Each client is one keep-alive HTTP/1.1 connection
driven by a single asyncio thread (hand-written request/response handling,
so the load generator costs as little CPU as possible: it shares the
machine's cores with the server). Every request is
``POST /api/v1/tickets`` with ``"submit": true`` and a unique
``Idempotency-Key``; anything but 201 (or an exception) is an error.

Prints a table and one ``{"bench": "submit", ...}`` JSON line.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts this script's directory first on sys.path, where a sibling benchmark
# (bench/triage_queue.py) shadows the standard library's ``queue`` that asyncio needs.
BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402


def _load_common():  # type: ignore[no-untyped-def]
    """bench/common.py by path (the bench directory is not a package and is off sys.path)."""
    spec = importlib.util.spec_from_file_location("secdesk_bench_common", BENCH_DIR / "common.py")
    if spec is None or spec.loader is None:
        raise ImportError(BENCH_DIR / "common.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


common = _load_common()

BODY = {
    "category": "vulnerability",
    "offers": ["contoso-backup"],
    "description": "bench ",
    "cvss_vectors": ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"],
    "cve_ids": ["CVE-2026-1234"],
    "mitigation": "workaround",
    "remediation_steps": "x",
    "submit": True,
}
MAX_ERROR_SAMPLES = 5


@dataclass
class Stats:
    latencies_ns: list[int] = field(default_factory=list)  # successful requests in the window
    ok: int = 0  # 201s in the window
    errors: int = 0  # errors in the window
    ok_total: int = 0  # 201s in every phase (warm-up and drain too)
    requests_total: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    samples: dict[str, int] = field(default_factory=dict)  # error text -> count (first few kinds)

    def error(self, in_window: bool, kind: str, text: str) -> None:
        if in_window:
            self.errors += 1
        self.statuses[kind] += 1
        key = f"{kind}: {text[:400]}"
        if key in self.samples:
            self.samples[key] += 1
        elif len(self.samples) < MAX_ERROR_SAMPLES:
            self.samples[key] = 1


class HttpError(Exception):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    keep_alive = headers.get("connection", "").lower() != "close" and parts[0] == "HTTP/1.1"
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    else:
        body = await reader.read()
        keep_alive = False
    return status, body, keep_alive


def request_bytes(host: str, port: int, token: str, n: int) -> bytes:
    body = json.dumps({**BODY, "description": f"bench submission {n}"}, separators=(",", ":")).encode()
    head = (
        f"POST /api/v1/tickets HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Idempotency-Key: bench-{uuid.uuid4().hex}\r\n"
        f"Content-Type: application/json\r\n"
        f"Accept: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"\r\n"
    )
    return head.encode("latin-1") + body


async def client(
    host: str,
    port: int,
    token: str,
    stats: Stats,
    window: tuple[float, float],
    stop_at: float,
    timeout: float,
    counter: list[int],
) -> None:
    """One keep-alive connection submitting back to back until ``stop_at``."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    start_window, end_window = window
    try:
        while time.monotonic() < stop_at:
            counter[0] += 1
            payload = request_bytes(host, port, token, counter[0])
            began_ns = time.perf_counter_ns()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                assert reader is not None
                writer.write(payload)
                status, body, keep_alive = await asyncio.wait_for(read_response(reader), timeout)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, HttpError, ValueError) as exc:
                ended = time.monotonic()
                stats.requests_total += 1
                stats.error(start_window <= ended < end_window, "exception", f"{type(exc).__name__}: {exc}")
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.05)
                continue
            elapsed_ns = time.perf_counter_ns() - began_ns
            ended = time.monotonic()
            in_window = start_window <= ended < end_window  # completions in the window count
            stats.requests_total += 1
            if status == 201:
                stats.ok_total += 1
                if in_window:
                    stats.ok += 1
                    stats.latencies_ns.append(elapsed_ns)
            else:
                stats.error(start_window <= ended < end_window, str(status), body.decode("utf-8", "replace"))
            if not keep_alive:
                assert writer is not None
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def run_load(
    url: str, token: str, clients: int, warmup: float, duration: float, timeout: float, server_pid: int | None = None
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("refusing to load anything but 127.0.0.1")
    stats = Stats()
    now = time.monotonic()
    window = (now + warmup, now + warmup + duration)
    counter = [0]
    cpu0 = time.process_time()
    busy0: tuple[int, int] | None = None
    tasks = [
        asyncio.create_task(client(host, port, token, stats, window, window[1], timeout, counter))
        for _ in range(clients)
    ]
    await asyncio.sleep(max(0.0, window[0] - time.monotonic()))
    busy0, cpu_w0, procs0 = common.cpu_busy_snapshot(), time.process_time(), common.cpu_by_process()
    await asyncio.sleep(max(0.0, window[1] - time.monotonic()))
    busy1, cpu_w1, procs1 = common.cpu_busy_snapshot(), time.process_time(), common.cpu_by_process()
    roots = {os.getpid()} | ({server_pid} if server_pid else set())
    split = common.cpu_split(procs0, procs1, duration, roots)
    # Requests in flight at the end finish (bounded by the per-request timeout) but are not counted.
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout + 5)
    lat = sorted(ns / 1e6 for ns in stats.latencies_ns)
    system_busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    return {
        "clients": clients,
        "duration_s": duration,
        "warmup_s": warmup,
        "ok": stats.ok,
        "errors": stats.errors,
        "throughput_per_s": round(stats.ok / duration, 1),
        "p50_ms": round(percentile(lat, 50), 1),
        "p90_ms": round(percentile(lat, 90), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "max_ms": round(lat[-1], 1) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        "requests_total": stats.requests_total,
        "ok_total": stats.ok_total,
        "statuses": dict(stats.statuses),
        "error_samples": stats.samples,
        "client_cpu_pct": round(100 * (cpu_w1 - cpu_w0) / duration, 1),
        "system_cpu_pct": round(100 * system_busy, 1),
        "client_cpu_total_s": round(time.process_time() - cpu0, 2),
        "cpu_split_pct_of_one_core": split,
        # CPU of the desk (server tree + load generator + its PostgreSQL backends) per submission:
        # robust to other load on the machine, and 2000 / it bounds the throughput of 2 idle cores.
        "cpu_ms_per_submission": round(
            10 * (split["ours"] + split["postgres_bench"]) / max(1e-9, stats.ok / duration), 2
        )
        if stats.ok
        else None,
    }


def background_cpu(wait: float) -> float:
    """Machine CPU busy % over one idle second before the load; waits up to ``wait`` s for it to fall below 10%."""
    deadline = time.monotonic() + wait
    while True:
        busy0 = common.cpu_busy_snapshot()
        time.sleep(1)
        busy1 = common.cpu_busy_snapshot()
        pct = 100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        if pct < 10 or time.monotonic() >= deadline:
            return round(pct, 1)


def print_table(result: dict[str, Any]) -> None:
    rows = [
        ("database", result.get("db", "?")),
        ("server", result.get("server", "?")),
        ("clients", result["clients"]),
        ("window", f"{result['duration_s']:g} s after {result['warmup_s']:g} s warm-up"),
        ("submissions/s", result["throughput_per_s"]),
        ("p50 latency", f"{result['p50_ms']} ms"),
        ("p90 latency", f"{result['p90_ms']} ms"),
        ("p99 latency", f"{result['p99_ms']} ms"),
        ("max latency", f"{result['max_ms']} ms"),
        ("errors (window)", result["errors"]),
        ("requests (all phases)", f"{result['requests_total']} ({result['ok_total']} x 201)"),
        ("CPU: load generator", f"{result['client_cpu_pct']}% of one core"),
        ("CPU: whole machine", f"{result['system_cpu_pct']}% of {os.cpu_count()} cores"),
        ("CPU: by whom (% of a core)", result["cpu_split_pct_of_one_core"]),
        ("CPU per submission", f"{result['cpu_ms_per_submission']} ms (desk + load generator + its PostgreSQL)"),
        ("CPU: before the load", f"{result['background_cpu_pct']}% (other processes; should be ~0)"),
    ]
    if "tickets_in_db" in result:
        rows.append(("tickets in database", f"{result['tickets_in_db']} (201s seen: {result['ok_total']})"))
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    if result["statuses"]:
        print(f"\n  error kinds: {result['statuses']}")
        for text, count in result["error_samples"].items():
            print(f"  x{count}  {text}")
    verdict = []
    targets = (
        result["throughput_per_s"] >= 250,
        result["p99_ms"] < 150,
        not result["statuses"],
    )
    for ok, name in zip(targets, ("≥250/s", "p99<150ms", "zero errors"), strict=True):
        verdict.append(f"{name}: {'PASS' if ok else 'FAIL'}")
    print("\n  targets (16 clients, 2 cores): " + ", ".join(verdict))
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=20, help="measured seconds (max 120)")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--timeout", type=float, default=10, help="per-request timeout, seconds")
    parser.add_argument("--url", help="an already running desk (127.0.0.1 only); needs --token or SECDESK_TOKEN")
    parser.add_argument("--token", default=os.environ.get("SECDESK_TOKEN", ""))
    parser.add_argument("--workers", type=int, default=2, help="secdesk serve --workers (own server only)")
    parser.add_argument("--threads", type=int, default=4, help="secdesk serve --threads (own server only)")
    parser.add_argument("--quiet-wait", type=float, default=0, help="wait up to this many s for an idle machine")
    parser.add_argument(
        "--src", type=Path, help="run the desk from this source tree (e.g. a `git archive HEAD` snapshot)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data directory (own server only)")
    args = parser.parse_args(argv)
    if not (0 <= args.quiet_wait <= 600):
        parser.error("--quiet-wait: 0..600 s")
    if not (1 <= args.clients <= 256) or not (0 < args.duration <= 120) or not (0 <= args.warmup <= 60):
        parser.error("bounds: 1..256 clients, duration 0..120 s, warm-up 0..60 s")
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    load = (args.clients, args.warmup, args.duration, args.timeout)
    if args.url:
        if not args.token:
            parser.error("--url needs --token (or SECDESK_TOKEN)")
        background = background_cpu(args.quiet_wait)
        result = asyncio.run(run_load(args.url, args.token, *load))
        result.update(db=args.db, server=args.url, background_cpu_pct=background)
    else:
        print(f"setting up a fresh {args.db} desk …", file=sys.stderr, flush=True)
        with common.Desk(args.db, workers=args.workers, threads=args.threads, keep=args.keep, src=args.src) as desk:
            print(f"serving on {desk.url} (data in {desk.data_dir}); loading …", file=sys.stderr, flush=True)
            background = background_cpu(args.quiet_wait)
            result = asyncio.run(run_load(desk.url, desk.token, *load, server_pid=desk.proc.pid if desk.proc else None))
            result.update(db=args.db, server=f"secdesk serve --workers {args.workers} --threads {args.threads}")
            result["src"] = str(desk.src)
            result["background_cpu_pct"] = background
            result["tickets_in_db"] = common.count_tickets(args.db, desk.data_dir)
            log = desk.server_log_tail()
            if result["statuses"] and log.strip():
                print("server log (tail):\n" + log, file=sys.stderr)
    result["bench"] = "submit"
    result["machine"] = common.machine()
    print_table(result)
    print(json.dumps(result, sort_keys=True))
    return 0 if not result["statuses"] else 1


if __name__ == "__main__":
    sys.exit(main())
