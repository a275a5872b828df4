"""Helpers for sign-in tests against the real test OpenID provider (tests/oidc/provider.mjs).

The fixture that starts the provider is ``oidc_op`` in ``tests/http/conftest.py``.
"""

from __future__ import annotations

import re
import socket
import subprocess
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "desk-client"
CLIENT_SECRET = "desk-secret"
ENTRA_TENANT = "7d3f9a52-0c1e-4b6a-9f2d-3c5e8a1b2c4d"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningOP:
    """A running test OpenID provider and how the desk is configured for it."""

    provider_id: str
    issuer: str
    base: str
    desk: str
    login_path: str
    callback_path: str
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]*)"')


@dataclass
class SignIn:
    """What a browser-like sign-in through the OP went through."""

    session: Any
    response: Any
    callback_url: str | None


def sign_in_with_op(op: RunningOP, login: str, password: str, *, session: Any = None) -> SignIn:
    """Sign in as a browser would: the desk's login page button, the OP's form, back to the desk."""
    import requests

    s = session or requests.Session()
    page = s.get(f"{op.desk}/accounts/login/", timeout=30)
    page.raise_for_status()
    # The provider's button is a POST form on the sign-in page (SOCIALACCOUNT_LOGIN_ON_GET is off).
    forms = re.findall(r'<form method="post" action="([^"]+)">', page.text)
    action = next(unescape(a) for a in forms if a.startswith(op.login_path))
    csrf = CSRF.search(page.text)
    assert csrf, page.text
    at_op = s.post(
        urljoin(op.desk, action),
        data={"csrfmiddlewaretoken": csrf.group(1)},
        headers={"Referer": page.url},
        timeout=30,
    )
    assert at_op.url.startswith(op.base), (at_op.status_code, at_op.url, at_op.text[:500])
    form = FORM_ACTION.search(at_op.text)
    assert form, at_op.text
    done = s.post(urljoin(at_op.url, unescape(form.group(1))), data={"login": login, "password": password}, timeout=30)
    callback = next((r.url for r in [*done.history, done] if op.callback_path in r.url), None)
    if callback is None:  # the callback answered without a redirect (an error page)
        callback = done.url if op.callback_path in done.url else None
    return SignIn(session=s, response=done, callback_url=callback)


def signed_in_as(session: Any, desk: str) -> str | None:
    """The e-mail the desk's home page shows for this browser session, or None when it asks to sign in."""
    page = session.get(f"{desk}/", timeout=30)
    match = re.search(r'id="signed-in-as">([^<]+)<', page.text)
    return unescape(match.group(1)) if match else None
