"""The periodic schedule: one declaration, each tick run once across workers, slow jobs hold up no other."""

from __future__ import annotations

import threading
import time

import pytest
from django.utils.module_loading import import_string

from secdesk.notices.models import ScheduledJob
from secdesk.schedule import SCHEDULE, Job, Scheduler

CALLS: dict[str, list[float]] = {"fast": [], "slow": [], "slow_overlaps": []}
_SLOW_RUNNING = threading.Event()


def fast_job() -> dict[str, int]:
    CALLS["fast"].append(time.monotonic())
    return {"ok": 1}


def slow_job() -> None:
    if _SLOW_RUNNING.is_set():
        CALLS["slow_overlaps"].append(time.monotonic())
    _SLOW_RUNNING.set()
    CALLS["slow"].append(time.monotonic())
    time.sleep(1.5)
    _SLOW_RUNNING.clear()


def failing_job() -> None:
    raise RuntimeError("boom")


def test_every_scheduled_target_exists():
    names = [job.name for job in SCHEDULE]
    assert len(names) == len(set(names))
    for job in SCHEDULE:
        assert callable(import_string(job.target)), job.target
    assert {"outbox.drain", "sla.sweep", "mail.top_up", "mail.reset_stuck"} <= set(names)


@pytest.mark.django_db
def test_a_tick_runs_once_across_workers_and_failures_are_recorded():
    jobs = [Job("t.fast", 60, f"{__name__}.fast_job"), Job("t.fail", 60, f"{__name__}.failing_job")]
    first, second = Scheduler(jobs, worker_id="w1"), Scheduler(jobs, worker_id="w2")
    assert first.run_due() == ["t.fast", "t.fail"]
    assert second.run_due() == []
    fast = ScheduledJob.objects.get(name="t.fast")
    assert (fast.runs, fast.last_worker, fast.last_result, fast.last_error) == (1, "w1", '{"ok": 1}', "")
    assert ScheduledJob.objects.get(name="t.fail").last_error == "RuntimeError: boom"


@pytest.mark.django_db(transaction=True)
def test_a_slow_job_holds_up_no_other_and_never_overlaps_itself():
    for calls in CALLS.values():
        calls.clear()
    jobs = [Job("t.fast", 0.2, f"{__name__}.fast_job"), Job("t.slow", 0.2, f"{__name__}.slow_job")]
    stop = threading.Event()
    loop = threading.Thread(target=Scheduler(jobs).run_forever, args=(stop,), kwargs={"tick": 0.05})
    loop.start()
    deadline = time.monotonic() + 15  # a loaded machine may start the second slow run late, never early
    while len(CALLS["slow"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    loop.join(10)
    assert not loop.is_alive()
    first, second = CALLS["slow"][:2]
    # The slow job is due every 0.2 s but starts again only once its 1.5 s run is over ...
    assert second - first >= 1.5
    # ... while the fast one kept its own 0.2 s pace during that run.
    assert len([t for t in CALLS["fast"] if first <= t < first + 1.5]) >= 4
    assert CALLS["slow_overlaps"] == []
