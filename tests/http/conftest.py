"""Fixtures for tests through a live server: a real OpenID provider (tests/oidc/provider.mjs).

``oidc_op(...)`` starts panva's oidc-provider on Node (never a mock) after
``live_server``, registers the live server's callback with it, points the
desk's ``SOCIALACCOUNT_PROVIDERS`` at it (through the same parser as
``SECDESK_OIDC_PROVIDERS``) and stops it after the test. Keyword arguments
become the provider's environment knobs (see the top of provider.mjs).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.oidc_fixtures import CLIENT_ID, CLIENT_SECRET, ENTRA_TENANT, OIDC_DIR, RunningOP, free_port


@pytest.fixture
def oidc_op(live_server, settings, tmp_path) -> Iterator[Callable[..., RunningOP]]:
    from secdesk.accounts import oidc

    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(f"oidc-provider is not installed: run `npm ci` in {OIDC_DIR} (./dev test does it)")
    started: list[RunningOP] = []

    def _launch(
        provider_id: str, mode: str, accounts: dict[str, dict[str, Any]] | None, tenant: str, knobs: dict[str, str]
    ) -> tuple[RunningOP, str, bool]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        entra = mode == "entra"
        prefix = "/accounts/microsoft" if entra else f"/accounts/oidc/{provider_id}"
        callback_path = f"{prefix}/login/callback/"
        env = {
            **os.environ,
            "PORT": str(port),
            "REDIRECT_URIS": f"{live_server.url}{callback_path}",
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "MODE": mode,
            "TENANT_ID": ENTRA_TENANT,
            "ROUTE_TENANT": tenant,
            "TOKEN_AUTH_METHOD": "client_secret_post" if entra else "client_secret_basic",
            **({"ACCOUNTS": json.dumps(accounts)} if accounts is not None else {}),
            **knobs,
        }
        log = tmp_path / f"op-{provider_id}-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["node", "provider.mjs"], cwd=OIDC_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        issuer = f"{base}/{tenant}/v2.0" if entra else base
        op = RunningOP(provider_id, issuer, base, live_server.url, f"{prefix}/login/", callback_path, log, process)
        return op, issuer, entra

    def _listening(op: RunningOP, *, timeout: float) -> bool:
        port = int(op.base.rsplit(":", 1)[1])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if op.process.poll() is not None:
                pytest.fail(f"the test OP exited with {op.process.returncode}:\n{op.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def start(
        provider_id: str = "testop",
        *,
        mode: str = "oidc",
        accounts: dict[str, dict[str, Any]] | None = None,
        tenant: str = "organizations",
        **knobs: str,
    ) -> RunningOP:
        # Node normally listens within seconds; once in a CI run it printed only its runtime warning and did not listen
        # for a minute. A start that has not listened after 30 s is killed and tried again on a new port.
        for attempt in range(1, 4):
            op, issuer, entra = _launch(provider_id, mode, accounts, tenant, knobs)
            started.append(op)
            if _listening(op, timeout=30):
                break
            op.process.kill()
            if attempt == 3:
                pytest.fail(f"the test OP did not listen on {op.base} in three tries:\n{op.output()}")
        entry: dict[str, str] = {
            "id": provider_id,
            "name": f"Test OP {provider_id}",
            "issuer": issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        if entra:
            entry |= {"tenant": tenant, "graph_url": op.base}
        settings.SOCIALACCOUNT_PROVIDERS = oidc.socialaccount_providers(oidc.parse_providers(json.dumps([entry])))
        return op

    yield start
    for op in started:
        op.process.terminate()
        try:
            op.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            op.process.kill()
            op.process.wait()
