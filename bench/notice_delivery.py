"""Benchmark: deliver one customer notice to many recipients through a local SMTP server.

For each scenario it builds a throw-away desk (SQLite under a temp dir, or the
PostgreSQL database ``secdesk_bench_notice``), loads the demo, adds contacts to
the affected customers, approves one notice (which enqueues its delivery),
starts an aiosmtpd sink **in a separate process** and ``secdesk worker``
processes, and waits until the notice is ``sent``. Then it checks, against
what the SMTP server received, that no recipient was missed and that any
recipient who got two messages got the same Message-ID twice.

Scenarios: ``1`` and ``2`` (workers), ``kill`` (two workers, one SIGKILLed
when 30 % has been received, a replacement started two seconds later).

    .venv/bin/python bench/notice_delivery.py --recipients 100000 --scenarios 1,2,kill
    .venv/bin/python bench/notice_delivery.py --db postgres --recipients 100000

Output: one line per scenario, then a JSON line with everything. Exit status 1 if a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, ROOT, cpu_by_process, free_port, machine, reset_postgres

PG_DB = "secdesk_bench_notice"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
PASSWORD = "bench-password-not-secret-0"  # noqa: S105 — demo users of a throw-away desk
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


# --- the SMTP sink (its own process) -------------------------------------------------------------


def serve_sink(port: int, log: Path, delay: float) -> None:
    """Accept every message; append ``time<TAB>recipient<TAB>Message-ID`` per recipient to ``log``."""
    from aiosmtpd.controller import Controller

    lines: list[str] = []
    lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if delay:
                await asyncio.sleep(delay)
            content = envelope.original_content or b""
            head = content.split(b"\r\n\r\n", 1)[0]
            found = _MESSAGE_ID.search(head)
            message_id = found.group(1).decode() if found else "-"
            now = time.time()
            with lock:
                lines.extend(f"{now:.6f}\t{rcpt.lower()}\t{message_id}\n" for rcpt in envelope.rcpt_tos)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with log.open("a") as out:
        while True:
            stopping = stop.wait(0.25)
            with lock:
                batch, lines[:] = list(lines), []
            out.writelines(batch)
            out.flush()
            if stopping:
                break
    controller.stop()


def read_sink(log: Path) -> list[tuple[float, str, str]]:
    rows = []
    for line in log.read_text().splitlines():
        stamp, rcpt, message_id = line.split("\t")
        rows.append((float(stamp), rcpt, message_id))
    return rows


def jiffies(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def cpu_report(
    before: dict[int, tuple[int, int, str]],
    after: dict[int, tuple[int, int, str]],
    seconds: float,
    workers: dict[int, int],
    sink_pid: int,
    messages: int,
) -> dict[str, Any]:
    """Where the CPU went in the run: our workers, the SMTP sink, PostgreSQL, everything else."""
    hz = os.sysconf("SC_CLK_TCK")

    def used(pid: int, end: int) -> float:
        return (end - before.get(pid, (0, 0, ""))[1]) / hz

    worker_seconds = sum(used(pid, end) for pid, end in workers.items())
    sink_seconds = used(sink_pid, after.get(sink_pid, (0, jiffies(sink_pid), ""))[1])
    postgres = sum(used(pid, j) for pid, (_pp, j, cmd) in after.items() if cmd.startswith("postgres"))
    total = sum(used(pid, j) for pid, (_pp, j, _c) in after.items())
    others = total - worker_seconds - sink_seconds - postgres
    return {
        "worker_cpu_ms_per_message": round(worker_seconds * 1000 / max(messages, 1), 3),
        "sink_cpu_ms_per_message": round(sink_seconds * 1000 / max(messages, 1), 3),
        "postgres_cpu_ms_per_message": round(postgres * 1000 / max(messages, 1), 3),
        "pct_of_one_core": {
            "workers": round(worker_seconds / seconds * 100, 1),
            "smtp_sink": round(sink_seconds / seconds * 100, 1),
            "postgres_all": round(postgres / seconds * 100, 1),
            "others": round(max(others, 0.0) / seconds * 100, 1),
        },
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
    }


def count_lines(log: Path) -> int:
    try:
        with log.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


# --- preparing a desk (run in a subprocess with the desk's environment) ----------------------------


def prepare(recipients: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secdesk.settings")
    import django

    django.setup()
    from secdesk import demo
    from secdesk.accounts.actors import actor_for
    from secdesk.accounts.models import User
    from secdesk.domain.intake import Answers
    from secdesk.marketplace.models import CustomerContact
    from secdesk.notices import selectors, services
    from secdesk.notices.models import NoticeRecipient
    from secdesk.tickets import services as ticket_services

    demo.load(PASSWORD)
    alice = actor_for(User.objects.get(email="alice@contoso.example"))
    leo = actor_for(User.objects.get(email="leo@marketplace.example"))
    answers = Answers(
        category="vulnerability",
        offers=("contoso-backup",),
        description="Remote code execution in the upload endpoint.",
        cvss_vectors=("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",),
        mitigation="workaround",
        remediation_steps="Disable uploads until 4.2.1 ships.",
        customer_message="Please **disable uploads** until version 4.2.1 ships.\n\nDetails: upgrade, then re-enable.",
    )
    ticket, _ = ticket_services.create_ticket(alice, answers=answers, submit=True)
    customers = list(selectors.affected_customers_queryset(ticket))
    existing = CustomerContact.objects.filter(customer__in=customers).count()
    extra = max(0, recipients - existing)
    batch = []
    for i in range(extra):
        customer = customers[i % len(customers)]
        batch.append(
            CustomerContact(
                customer=customer,
                email=f"c{i:07d}@{customer.slug}.example",
                language="tr" if i % 10 == 0 else "en",
            )
        )
        if len(batch) == 5000:
            CustomerContact.objects.bulk_create(batch)
            batch = []
    CustomerContact.objects.bulk_create(batch)
    number = ticket.confirmation_number
    notice, _ = services.start_notice(alice, confirmation_number=number)
    services.approve_notice(alice, confirmation_number=number, version=1)
    started = time.monotonic()
    services.approve_notice(leo, confirmation_number=number, version=1)  # fixes the audience, enqueues delivery
    approve_seconds = time.monotonic() - started
    count = NoticeRecipient.objects.filter(notice=notice).count()
    print(json.dumps({"notice": notice.pk, "recipients": count, "approve_seconds": round(approve_seconds, 2)}))


# --- reading the desk's database without Django ----------------------------------------------------


class Db:
    def __init__(self, kind: str, data_dir: Path) -> None:
        self.kind = kind
        self.data_dir = data_dir

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            import sqlite3

            with sqlite3.connect(self.data_dir / "secdesk.sqlite3", timeout=30) as conn:
                return list(conn.execute(sql.replace("%s", "?"), params).fetchall())
        import psycopg

        with psycopg.connect(PG_URL.replace("postgres://", "postgresql://"), connect_timeout=5) as conn:
            return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]

    def notice_status(self, notice_id: int) -> str:
        return str(self.query("SELECT status FROM notices_notice WHERE id = %s", (notice_id,))[0][0])


# --- one scenario ----------------------------------------------------------------------------------


def run_scenario(args: argparse.Namespace, name: str) -> dict[str, Any]:
    workers = 1 if name == "1" else 2
    data_dir = Path(tempfile.mkdtemp(prefix=f"secdesk-bench-notice-{name}-"))
    port = free_port()
    env = {
        **os.environ,
        "SECDESK_DATA_DIR": str(data_dir),
        "SECDESK_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "SECDESK_NOTICE_RATE_PER_SECOND": str(args.rate),
        "SECDESK_NOTICE_PARALLEL": str(workers),
        "SECDESK_NOTICE_BATCH_SIZE": str(args.batch),
        "SECDESK_MAIL_CLAIM_TIMEOUT_SECONDS": str(args.claim_timeout),
        "SECDESK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    if args.db == "postgres":
        reset_postgres(PG_DB)
        env["DATABASE_URL"] = PG_URL
    db = Db(args.db, data_dir)
    procs: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {"scenario": name, "workers": workers, "db": args.db}
    try:
        subprocess.run([PYTHON, "-m", "secdesk.cli.main", "migrate"], env=env, check=True, capture_output=True)
        prepared = subprocess.run(
            [PYTHON, __file__, "--prepare", str(args.recipients)], env=env, check=True, capture_output=True, text=True
        )
        info = json.loads(prepared.stdout.strip().splitlines()[-1])
        notice_id, total = int(info["notice"]), int(info["recipients"])
        result.update(recipients=total, approve_seconds=info["approve_seconds"])
        expected = dict(
            db.query("SELECT lower(email), message_id FROM notices_noticerecipient WHERE notice_id = %s", (notice_id,))
        )

        sink_log = data_dir / "sink.log"
        sink = subprocess.Popen([PYTHON, __file__, "--sink", str(port), str(sink_log), str(args.sink_delay)], env=env)
        procs.append(sink)
        time.sleep(1.0)
        log = (data_dir / "workers.log").open("ab")

        def start_worker() -> subprocess.Popen[bytes]:
            proc = subprocess.Popen(
                [PYTHON, "-m", "secdesk.cli.main", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
            procs.append(proc)
            return proc

        cpu_before = cpu_by_process()
        started = time.monotonic()
        running = [start_worker() for _ in range(workers)]
        worker_jiffies: dict[int, int] = {}
        killed_at = None
        deadline = started + args.timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            received = count_lines(sink_log)
            if name == "kill" and killed_at is None and received >= total * 0.3:
                worker_jiffies[running[0].pid] = jiffies(running[0].pid)
                running[0].send_signal(signal.SIGKILL)
                running[0].wait(10)
                killed_at = received
                in_flight = db.query(
                    "SELECT count(*) FROM notices_noticerecipient WHERE notice_id = %s AND status = 'sending'",
                    (notice_id,),
                )[0][0]
                result.update(killed_after_received=received, claimed_by_dead_worker=int(in_flight))
                time.sleep(2.0)
                running[0] = start_worker()  # a supervisor restarts it
            if db.notice_status(notice_id) == "sent":
                break
        wall = time.monotonic() - started
        cpu_after = cpu_by_process()
        for proc in running:
            worker_jiffies[proc.pid] = jiffies(proc.pid)
        time.sleep(0.6)  # the sink flushes every 0.25 s
        statuses = dict(
            db.query(
                "SELECT status, count(*) FROM notices_noticerecipient WHERE notice_id = %s GROUP BY status",
                (notice_id,),
            )
        )
        received_rows = read_sink(sink_log)
        notices = [r for r in received_rows if r[2].startswith("<notice-")]
        per_rcpt = Counter(rcpt for _t, rcpt, _m in notices)
        missing = [email for email in expected if per_rcpt[email] == 0]
        repeated = {email: n for email, n in per_rcpt.items() if n > 1}
        wrong_id = [(rcpt, mid) for _t, rcpt, mid in notices if expected.get(rcpt) != mid]
        stamps = sorted(t for t, _r, _m in notices)
        steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 and stamps[-1] > stamps[0] else 0.0
        result.update(
            finished=db.notice_status(notice_id) == "sent",
            wall_seconds=round(wall, 1),
            messages=len(notices),
            messages_per_second_wall=round(total / wall, 1),
            messages_per_second_first_to_last=round(steady, 1),
            statuses=statuses,
            missing=len(missing),
            repeated=len(repeated),
            repeats_with_other_message_id=len(wrong_id),
            cpu=cpu_report(cpu_before, cpu_after, wall, worker_jiffies, sink.pid, len(notices)),
        )
        ok = result["finished"] and not missing and not wrong_id and statuses.get("sent") == total
        ok = ok and (len(repeated) <= (1 if name == "kill" else 0)) and all(n == 2 for n in repeated.values())
        result["ok"] = bool(ok)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            result["data_dir"] = str(data_dir)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--scenarios", default="1,2,kill")
    parser.add_argument("--rate", type=int, default=0, help="SECDESK_NOTICE_RATE_PER_SECOND (0: no limit)")
    parser.add_argument("--batch", type=int, default=100, help="SECDESK_NOTICE_BATCH_SIZE")
    parser.add_argument("--claim-timeout", type=int, default=10, help="SECDESK_MAIL_CLAIM_TIMEOUT_SECONDS")
    parser.add_argument("--sink-delay", type=float, default=0.0, help="seconds the SMTP server takes per message")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sink", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare is not None:
        prepare(args.prepare)
        return 0
    if args.sink:
        serve_sink(int(args.sink[0]), Path(args.sink[1]), float(args.sink[2]))
        return 0
    results = []
    for name in args.scenarios.split(","):
        result = run_scenario(args, name.strip())
        results.append(result)
        print(
            f"{result['db']:<8} {result['scenario']:<5} workers={result['workers']} "
            f"recipients={result.get('recipients')} wall={result.get('wall_seconds')}s "
            f"msg/s(wall)={result.get('messages_per_second_wall')} "
            f"msg/s(first→last)={result.get('messages_per_second_first_to_last')} "
            f"missing={result.get('missing')} repeated={result.get('repeated')} ok={result.get('ok')} "
            f"worker_cpu_ms/msg={result.get('cpu', {}).get('worker_cpu_ms_per_message')} "
            f"sink_cpu_ms/msg={result.get('cpu', {}).get('sink_cpu_ms_per_message')} "
            f"others%={result.get('cpu', {}).get('pct_of_one_core', {}).get('others')}",
            flush=True,
        )
    print(json.dumps({"machine": machine(), "args": vars(args), "results": results}, default=str))
    return 0 if all(r.get("ok") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
