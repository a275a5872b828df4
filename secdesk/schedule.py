"""The desk's periodic jobs, declared in one place, and the loop that runs them.

``secdesk worker`` runs this loop in a thread beside the task worker
(``db_worker`` or ``run_redis_tasks``); ``secdesk worker --schedule-only``
runs only the loop. Any number of workers may run it:

- a job runs only after its runner wins a conditional UPDATE of the job's
  ``ScheduledJob`` row (``last_started_at`` older than the interval), so
  each tick runs once across all workers;
- every job is idempotent anyway and does its own locking: the outbox drain
  locks its cursor row (``SKIP LOCKED``; SQLite serialises writers), the
  breach sweep records each breach once (unique per ticket and deadline),
  and the mail upkeep changes rows with conditional UPDATEs. A job that runs
  twice, or overlaps itself after a slow run, does no harm.

A job is a dotted path to a callable taking no arguments; what it returns
(a dict or a dataclass) is kept as ``last_result``. The loop runs each due job
in a thread of its own, so a slow job (a webhook receiver taking its time)
holds up no other, and never starts a job again while it is still running.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger("secdesk.schedule")


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds
    target: str  # dotted path of a callable taking no arguments


SCHEDULE: tuple[Job, ...] = (
    # Timeline events → e-mails (MailDelivery rows), sending enqueued after commit.
    Job("outbox.drain", 2, "secdesk.notices.outbox.drain_all"),
    # Missed acknowledgement / remediation / request deadlines, escalated to leads (mailed by the outbox).
    Job("sla.sweep", 60, "secdesk.triage.services.sweep"),
    # E-mails and notice deliveries that are due but have no task (lost enqueue, dead worker).
    Job("mail.top_up", 15, "secdesk.notices.upkeep.top_up"),
    # Claims older than MAIL_CLAIM_TIMEOUT_SECONDS: back to pending, same Message-ID.
    Job("mail.reset_stuck", 60, "secdesk.notices.upkeep.reset_stuck"),
    # Finished task results of the database backend older than a week.
    Job("tasks.prune", 3600, "secdesk.notices.upkeep.prune_task_results"),
    # Replies by e-mail: the IMAP mailbox of SECDESK_IMAP_URL (does nothing when unset).
    Job("inbound.poll", 60, "secdesk.inbound.imap.poll_mailbox"),
    # Timeline events → webhook deliveries, then sending what is due (signed, retried with backoff).
    Job("webhooks.drain", 2, "secdesk.webhooks.dispatch.drain"),
    Job("webhooks.send", 5, "secdesk.webhooks.dispatch.send_due"),
)


def _summary(result: Any) -> str:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    try:
        return json.dumps(result, default=str, sort_keys=True)[:2000]
    except (TypeError, ValueError):
        return repr(result)[:2000]


class Scheduler:
    """Runs the jobs of ``jobs`` that are due; see the module docstring for what makes that safe."""

    def __init__(self, jobs: Sequence[Job] = SCHEDULE, *, worker_id: str | None = None) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError("two scheduled jobs share a name")
        self.jobs = list(jobs)
        self.worker_id = (worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")[:64]
        self._targets: dict[str, Callable[[], Any]] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def _target(self, job: Job) -> Callable[[], Any]:
        if job.target not in self._targets:
            self._targets[job.target] = import_string(job.target)
        return self._targets[job.target]

    def _claim(self, job: Job, now: datetime) -> bool:
        from secdesk.notices.models import ScheduledJob

        ScheduledJob.objects.get_or_create(name=job.name)
        due = Q(last_started_at__isnull=True) | Q(last_started_at__lte=now - timedelta(seconds=job.every))
        return bool(
            ScheduledJob.objects.filter(name=job.name)
            .filter(due)
            .update(last_started_at=now, last_worker=self.worker_id)
        )

    def _record(self, job: Job, *, result: str = "", error: str = "") -> None:
        from django.db.models import F

        from secdesk.notices.models import ScheduledJob

        ScheduledJob.objects.filter(name=job.name).update(
            last_finished_at=timezone.now(), last_result=result, last_error=error, runs=F("runs") + 1
        )

    def due(self, now: datetime) -> list[Job]:
        """The jobs whose interval has passed (read only: a cheap check before trying to claim)."""
        from secdesk.notices.models import ScheduledJob

        started = dict(ScheduledJob.objects.values_list("name", "last_started_at"))
        due = []
        for job in self.jobs:
            last = started.get(job.name)
            if last is None or last <= now - timedelta(seconds=job.every):
                due.append(job)
        return due

    def run_due(self, now: datetime | None = None, *, pool: ThreadPoolExecutor | None = None) -> list[str]:
        """Run every due job this worker wins; returns their names.

        Without ``pool`` the jobs run here, one after the other; with one, each
        runs in its own thread, so a slow job (a webhook receiver taking its
        time) does not hold up the outbox drain. A job still running in this
        process is not started again.
        """
        ran = []
        for job in self.due(now or timezone.now()):
            with self._lock:
                if job.name in self._running:
                    continue
            if not self._claim(job, timezone.now()):
                continue
            ran.append(job.name)
            if pool is None:
                self._run(job)
                continue
            with self._lock:
                self._running.add(job.name)
            pool.submit(self._run_in_thread, job)
        return ran

    def _run(self, job: Job) -> None:
        try:
            result = self._target(job)()
        except Exception as exc:
            logger.exception("scheduled job %s failed", job.name)
            self._record(job, error=f"{type(exc).__name__}: {exc}"[:2000])
        else:
            self._record(job, result=_summary(result))

    def _run_in_thread(self, job: Job) -> None:
        try:
            close_old_connections()
            self._run(job)
        except Exception:
            logger.exception("recording scheduled job %s failed", job.name)
        finally:
            close_old_connections()
            with self._lock:
                self._running.discard(job.name)

    def run_forever(self, stop: threading.Event, *, tick: float = 0.5) -> None:
        logger.info("scheduler %s started: %s", self.worker_id, ", ".join(j.name for j in self.jobs))
        with ThreadPoolExecutor(max_workers=len(self.jobs), thread_name_prefix="secdesk-job") as pool:
            while not stop.is_set():
                try:
                    close_old_connections()
                    self.run_due(pool=pool)
                except Exception:
                    logger.exception("the scheduler's tick failed; trying again")
                    time.sleep(min(5.0, tick * 10))
                stop.wait(tick)
        close_old_connections()


@dataclass
class Running:
    thread: threading.Thread
    stop_event: threading.Event

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def start_thread(jobs: Sequence[Job] = SCHEDULE) -> Running:
    """Run the schedule in a daemon thread of this process (beside the task worker)."""
    stop = threading.Event()
    scheduler = Scheduler(jobs)
    thread = threading.Thread(target=scheduler.run_forever, args=(stop,), name="secdesk-schedule", daemon=True)
    thread.start()
    return Running(thread, stop)
