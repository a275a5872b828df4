"""The Redis task backend (django-tasks-redis) against the Redis on 127.0.0.1:6379, with real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.tasks import TaskResultStatus, task_backends

from secdesk.notices import outbox, tasks
from secdesk.notices.models import MailDelivery
from tests.integration.mailsink import SmtpSink
from tests.integration.test_notice_delivery import ROOT, database_url
from tests.integration.test_outbox import file_ticket, rolled_back_drain

REDIS_URL = os.environ.get("SECDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_tasks(settings):
    """``TASKS`` on Redis under a key prefix of this test's own; its keys are removed afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({exc}); start it with "
            "`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no`"
        )
    prefix = f"secdesk-test-{uuid.uuid4().hex[:12]}"
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_redis.RedisTaskBackend",
            "QUEUES": ["default"],
            "OPTIONS": {"REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": prefix},
        }
    }
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def worker_env(prefix: str, sink: SmtpSink) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECDESK_TASKS_BACKEND": "redis",
        "SECDESK_REDIS_URL": REDIS_URL,
        "SECDESK_TASKS_PREFIX": prefix,
        "SECDESK_SMTP_URL": sink.url,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def test_a_task_enqueued_on_redis_is_run_by_a_real_redis_worker(world, redis_tasks):
    with SmtpSink() as sink:
        ticket = file_ticket(world)
        outbox.drain()  # commits; its on_commit enqueue goes to Redis
        delivery = MailDelivery.objects.get()
        backend = task_backends["default"]
        assert type(backend).__name__ == "RedisTaskBackend"
        assert backend.get_queue_stats()["pending_count"] == 1
        result = tasks.send_mail_delivery.enqueue(delivery.pk)  # a second task for the same e-mail
        assert result.status == TaskResultStatus.READY

        run = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "run_redis_tasks"],  # no --continuous: stops when empty
            env=worker_env(redis_tasks, sink),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr

        done = tasks.send_mail_delivery.get_result(result.id)
        assert done.status == TaskResultStatus.SUCCESSFUL
        assert done.return_value in ("sent", "skipped")  # one of the two tasks sent it; the other found it sent
        delivery.refresh_from_db()
        assert delivery.status == "sent"
        [message] = sink.parsed()  # two tasks, one message: the claim
        assert message["Subject"] == f"[{ticket.confirmation_number}] We received your security report"
        assert message["Message-ID"] == delivery.message_id
        assert backend.get_queue_stats()["pending_count"] == 0


def test_a_redis_enqueue_would_survive_a_rollback_so_the_drain_enqueues_after_commit(world, redis_tasks):
    file_ticket(world)
    backend = task_backends["default"]
    rolled_back_drain()
    assert MailDelivery.objects.count() == 0
    assert backend.get_queue_stats()["pending_count"] == 0  # nothing reached Redis
    outbox.drain()
    assert backend.get_queue_stats()["pending_count"] == 1


def test_secdesk_worker_runs_redis_tasks_continuously_and_stops_on_sigterm(world, redis_tasks, tmp_path):
    log = tmp_path / "worker.log"
    with SmtpSink() as sink:
        file_ticket(world)
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "secdesk.cli.main", "worker", "--no-schedule"],
                env=worker_env(redis_tasks, sink),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            outbox.drain()
            delivery = MailDelivery.objects.get()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and MailDelivery.objects.get(pk=delivery.pk).status != "sent":
                time.sleep(0.1)
            assert MailDelivery.objects.get(pk=delivery.pk).status == "sent", Path(log).read_text()[-3000:]
            assert len(sink.messages) == 1
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                code = worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                raise
        assert code == 0, log.read_text()[-3000:]
