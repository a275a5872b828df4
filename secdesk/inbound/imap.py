"""Polling the desk's reply mailbox over IMAP (imap-tools).

``SECDESK_IMAP_URL`` names the mailbox: ``imaps://user:password@host[:993]/INBOX``
(implicit TLS, certificate verified) or ``imap://user:password@host[:143]/INBOX``
(plain, for a server on the same machine or in tests). User, password and
folder are URL-decoded (``%40`` for ``@`` in a user name).

:func:`poll_mailbox` fetches unseen messages **without** marking them seen,
hands each to :func:`secdesk.inbound.services.receive` (which commits), and
only then flags it ``\\Seen`` and moves it to the ``Processed`` folder
(``SECDESK_IMAP_PROCESSED_FOLDER``, created when missing). A crash at any
point loses nothing: a message not yet moved is fetched again on the next
poll, and its Message-ID makes the second delivery a recorded duplicate
rather than a second post. A message the desk fails to record (the database
is down) stays unseen in the inbox for the next poll.

The schedule calls :func:`poll_mailbox` (or the ``poll_mailbox_task`` task in
``secdesk.inbound.tasks``) every minute or so; it does nothing when no URL is set.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessage, MailMessageFlags
from imap_tools.mailbox import BaseMailBox

from secdesk.config import ConfigError
from secdesk.inbound import services

logger = logging.getLogger("secdesk.inbound")


class RawMailMessage(MailMessage):
    """A fetched message that keeps its bytes exactly as the server sent them."""

    def __init__(self, fetch_data: list[Any]) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


@dataclass(frozen=True)
class MailboxUrl:
    secure: bool
    host: str
    port: int
    user: str
    password: str
    folder: str


def parse_url(url: str) -> MailboxUrl:
    """``imaps://user:pass@host:993/INBOX`` or ``imap://…``; raises ``ConfigError`` when malformed."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ConfigError("SECDESK_IMAP_URL must look like imaps://user:password@host/INBOX (or imap:// for plain)")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("SECDESK_IMAP_URL has an invalid port") from None
    secure = parts.scheme == "imaps"
    return MailboxUrl(
        secure=secure,
        host=parts.hostname,
        port=port or (993 if secure else 143),
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


@dataclass
class PollReport:
    fetched: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    failed: int = 0  # left unseen in the inbox for the next poll

    def count(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1


def _open(target: MailboxUrl, timeout: int) -> BaseMailBox:
    box: BaseMailBox
    if target.secure:
        box = MailBox(target.host, port=target.port, timeout=timeout, ssl_context=ssl.create_default_context())
    else:
        box = MailBoxUnencrypted(target.host, port=target.port, timeout=timeout)
    box.email_message_class = RawMailMessage
    return box


def poll_mailbox(url: str | None = None, *, limit: int = 200) -> PollReport:
    """Receive up to ``limit`` unseen messages from the mailbox; see the module docstring."""
    url = settings.IMAP_URL if url is None else url
    report = PollReport()
    if not url:
        return report
    target = parse_url(url)
    processed = settings.IMAP_PROCESSED_FOLDER
    timeout = int(getattr(settings, "IMAP_TIMEOUT_SECONDS", 30))
    with _open(target, timeout).login(target.user, target.password, initial_folder=target.folder) as box:
        if not box.folder.exists(processed):
            box.folder.create(processed)
        for item in box.fetch(AND(seen=False), mark_seen=False, limit=limit, bulk=False):
            report.fetched += 1
            uid = item.uid
            if uid is None:  # pragma: no cover - every IMAP server returns UIDs for UID FETCH
                continue
            raw: bytes = getattr(item, "raw", b"")
            try:
                result = services.receive(raw, source="imap")
            except Exception:
                # Not recorded: leave it unseen in the inbox, try again next time.
                logger.exception("inbound: could not record IMAP message uid %s; left in %s", uid, target.folder)
                report.failed += 1
                continue
            # Recorded and committed: now it may leave the inbox.
            box.flag(uid, MailMessageFlags.SEEN, True)
            box.move(uid, processed)
            report.count(result.status)
    return report
