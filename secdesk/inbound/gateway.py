"""``secdesk mail-gateway``: an LMTP endpoint (aiosmtpd) behind the local MTA.

Postfix (or any MTA) does TLS, spam filtering and queueing, and hands the
desk's reply mail over LMTP, e.g. in Postfix ``transport_maps``:
``reply.desk.example lmtp:inet:127.0.0.1:8024``. Every message goes to the
same :func:`secdesk.inbound.services.receive` as IMAP polling; the answer is
given per recipient, as LMTP wants:

* ``250`` once the desk has recorded the message (posted, quarantined,
  ignored or kept as malformed — the MTA's job is done either way);
* ``451`` when the desk could not record it (the database is down): the
  MTA keeps the message and tries again later; nothing is lost.

It listens on loopback by default and is not an MX: never expose it to the
internet. Database work runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from django.conf import settings
from django.db import close_old_connections

from secdesk.inbound import services

logger = logging.getLogger("secdesk.inbound")


class InboundHandler:
    """aiosmtpd handler: record each message once, answer once per recipient."""

    def __init__(self, workers: int = 4) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="secdesk-lmtp")

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= 100:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.executor, _receive, raw, envelope.mail_from or "", recipients)
            status = f"250 2.0.0 Recorded as inbound message {result.inbound_id} ({result.status})"
        except Exception:
            logger.exception("inbound: could not record an LMTP message; answered 451")
            status = "451 4.3.0 The desk could not record the message; try again later"
        return "\r\n".join([status] * max(1, len(recipients)))

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def _receive(raw: bytes, mail_from: str, recipients: list[str]) -> services.Received:
    # A worker thread: drop connections the database closed meanwhile, before and after.
    close_old_connections()
    try:
        return services.receive(raw, source="lmtp", envelope_from=mail_from, envelope_to=recipients)
    finally:
        close_old_connections()


class LMTPController(Controller):
    """aiosmtpd's controller, speaking LMTP, with the desk's size limit."""

    def factory(self) -> LMTP:
        return LMTP(
            self.handler,
            data_size_limit=int(getattr(settings, "INBOUND_MAX_BYTES", 40 * 1024 * 1024)),
            enable_SMTPUTF8=True,
            decode_data=False,
            # The name in the greeting (aiosmtpd would otherwise look the FQDN up on every connection).
            hostname=str(getattr(settings, "MAIL_REPLY_DOMAIN", "") or "secdesk.localhost"),
            timeout=300,
        )


def start(host: str, port: int) -> tuple[LMTPController, InboundHandler]:
    """Start the LMTP server in its own thread; the caller stops it with ``controller.stop()``."""
    handler = InboundHandler()
    controller = LMTPController(handler, hostname=host, port=port, ready_timeout=10)
    controller.start()
    return controller, handler
