"""Shared plumbing for the benchmarks: a throw-away desk on SQLite or PostgreSQL.

``Desk`` makes a fresh data directory (and, for PostgreSQL, drops and creates
the benchmark database), migrates it, loads the demo data, issues a write token
and runs ``secdesk serve --no-worker`` on a free port of 127.0.0.1 until it is
closed. Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "secdesk_bench"
PG_BENCH_URL = f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
BENCH_PASSWORD = "bench-password-not-secret-0"  # noqa: S105 — demo users of a throw-away desk
BENCH_USER = "alice@contoso.example"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset_postgres(name: str = PG_BENCH_DB) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def count_tickets(db: str, data_dir: Path) -> int:
    """Tickets in the desk's database (to check client-side 201s against server-side rows)."""
    if db == "sqlite":
        import sqlite3

        with sqlite3.connect(data_dir / "secdesk.sqlite3", timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0])
    import psycopg

    with psycopg.connect(PG_BENCH_URL.replace("postgres://", "postgresql://"), connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()
        return int(row[0]) if row else 0


class Desk:
    """A fresh desk served by ``secdesk serve``; use as a context manager."""

    def __init__(
        self, db: str, *, workers: int = 2, threads: int = 4, keep: bool = False, src: Path | None = None
    ) -> None:
        if db not in ("sqlite", "postgres"):
            raise ValueError(db)
        # The source tree to run (default: this checkout). A snapshot such as
        # ``git archive HEAD | tar -x -C DIR`` keeps concurrent edits out of a measurement.
        self.src = (src or ROOT).resolve()
        self.db = db
        self.workers = workers
        self.threads = threads
        self.keep = keep
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"secdesk-bench-{db}-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SECDESK_DATA_DIR": str(self.data_dir),
            "SECDESK_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "secdesk.settings",
        }
        self.env.pop("SECDESK_PRODUCTION", None)
        if self.src != ROOT:
            # Ahead of the virtualenv's editable install of this checkout.
            self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.src), os.environ.get("PYTHONPATH")]))
        self.env.pop("DATABASE_URL", None)
        if db == "postgres":
            self.env["DATABASE_URL"] = PG_BENCH_URL
        self.token = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "serve.log"

    def cli(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run(
            [PYTHON, "-m", "secdesk.cli.main", *args],
            env=self.env,
            cwd=self.src,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"secdesk {' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return done.stdout

    def setup(self) -> None:
        if self.db == "postgres":
            reset_postgres()
        self.cli("migrate")
        self.cli("demo", "--password", BENCH_PASSWORD)
        self.token = self.cli("token", "create", "--user", BENCH_USER, "--name", "bench").strip().splitlines()[-1]

    def start(self, ready_timeout: float = 60) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                PYTHON, "-m", "secdesk.cli.main", "serve", "--no-worker", "--no-migrate",
                "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", str(self.workers), "--threads", str(self.threads),
            ],
            env=self.env,
            cwd=self.src,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until_up(self.url, ready_timeout, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def server_log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> Desk:
        try:
            self.setup()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stop()
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def wait_until_up(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll until the server answers any HTTP request (401 for an anonymous ticket list is fine)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"secdesk serve exited with {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=2)
            conn.request("GET", "/api/v1/tickets")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f}s")


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return info


def cpu_busy_snapshot() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def cpu_by_process() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, utime+stime jiffies, command line) for every process."""
    out: dict[int, tuple[int, int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), cmd)
    return out


def cpu_split(
    before: dict[int, tuple[int, int, str]], after: dict[int, tuple[int, int, str]], seconds: float, roots: set[int]
) -> dict[str, float]:
    """% of one core used in the window by: the load generator + server tree ("ours"), the benchmark's
    PostgreSQL backends, other PostgreSQL processes, and everything else (other users of the machine)."""
    mine = set(roots)
    changed = True
    while changed:  # descendants of the roots
        changed = False
        for pid, (ppid, _, _) in after.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                changed = True
    hz = os.sysconf("SC_CLK_TCK")
    split = {"ours": 0.0, "postgres_bench": 0.0, "postgres_other": 0.0, "others": 0.0}
    for pid, (_, jiffies, cmd) in after.items():
        used = (jiffies - before.get(pid, (0, 0, ""))[1]) / hz / seconds * 100
        if pid in mine:
            split["ours"] += used
        elif cmd.startswith("postgres:") and f" {PG_BENCH_DB} " in cmd:
            split["postgres_bench"] += used
        elif "postgres" in cmd:
            split["postgres_other"] += used
        else:
            split["others"] += used
    return {key: round(value, 1) for key, value in split.items()}
