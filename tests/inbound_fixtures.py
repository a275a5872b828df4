"""Helpers for the inbound e-mail tests: a throwaway Dovecot (IMAP + LMTP), reply addresses, raw replies."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from django.utils import timezone

REPLY_DOMAIN = "inbound.example.test"
MAILBOX_USER = f"reply@{REPLY_DOMAIN}"
MAILBOX_PASSWORD = "imap-secret"

DOVECOT_CONF = """\
# Minimal throwaway Dovecot 2.3 for tests: IMAP and LMTP on loopback, no TLS (STACK-NOTES section 5).
protocols = imap lmtp
listen = 127.0.0.1
base_dir = {scratch}/run
instance_name = {instance}
log_path = {scratch}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {scratch}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={scratch}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@{domain}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Dovecot:
    imap_port: int
    lmtp_port: int
    scratch: Path

    @property
    def url(self) -> str:
        return f"imap://{MAILBOX_USER.replace('@', '%40')}:{MAILBOX_PASSWORD}@127.0.0.1:{self.imap_port}/INBOX"

    def deliver(self, raw: bytes, *, rcpt: str = MAILBOX_USER, mail_from: str = "sender@example.org") -> None:
        """Hand a message to Dovecot over LMTP, as the MTA would."""
        import smtplib

        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=10) as lmtp:
            refused = lmtp.sendmail(mail_from, [rcpt], raw)
        assert not refused, refused

    def mailbox(self):
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted("127.0.0.1", port=self.imap_port, timeout=10).login(
            MAILBOX_USER, MAILBOX_PASSWORD, initial_folder="INBOX"
        )

    def log(self) -> str:
        path = self.scratch / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def dovecot():
    """A Dovecot of our own on free loopback ports, started from a throwaway config and stopped by its pid."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists() or not Path("/usr/lib/dovecot/lmtp").exists():
        pytest.fail("Dovecot is not installed: `./dev test` installs dovecot-imapd and dovecot-lmtpd")
    # Not under pytest's private tmp dir: Dovecot's mail processes run as nobody and must reach the home.
    scratch = Path(tempfile.mkdtemp(prefix="secdesk-dovecot-"))
    scratch.chmod(0o755)
    home = scratch / "home"
    home.mkdir()
    if os.geteuid() == 0:
        shutil.chown(home, "nobody", "nogroup")
    (scratch / "users").write_text(f"{MAILBOX_USER}:{{PLAIN}}{MAILBOX_PASSWORD}::::::\n")
    imap_port, lmtp_port = free_port(), free_port()
    while lmtp_port == imap_port:
        lmtp_port = free_port()
    conf = scratch / "dovecot.conf"
    conf.write_text(
        DOVECOT_CONF.format(
            scratch=scratch,
            instance=f"secdesk-test-{uuid.uuid4().hex[:8]}",
            imap_port=imap_port,
            lmtp_port=lmtp_port,
            domain=REPLY_DOMAIN,
        )
    )
    server = Dovecot(imap_port=imap_port, lmtp_port=lmtp_port, scratch=scratch)
    pid_file = scratch / "run" / "master.pid"
    try:
        # The master daemonises; its output goes to a file (a pipe would stay open as long as it runs).
        with open(scratch / "start.log", "wb") as out:
            started = subprocess.run(
                [binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT, timeout=30, check=False
            )
        if started.returncode != 0:
            pytest.fail(f"dovecot did not start: {(scratch / 'start.log').read_text()}")
        wait_for_port(imap_port)
        wait_for_port(lmtp_port)
        yield server
    finally:
        if pid_file.exists():
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        shutil.rmtree(scratch, ignore_errors=True)


# -- reply addresses -------------------------------------------------------------------------------------


@pytest.fixture
def addresses(settings):
    """Outbound mail's address module, with the reply domain the tests deliver to."""
    from secdesk.notices import addresses as module

    settings.MAIL_REPLY_DOMAIN = REPLY_DOMAIN
    return module


def reply_address(addresses_module, ticket) -> str:
    return f"reply+{addresses_module.reply_token(ticket)}@{REPLY_DOMAIN}"


# -- raw replies ----------------------------------------------------------------------------------------------


def make_reply(
    *,
    sender: str,
    to: str = MAILBOX_USER,
    subject: str = "Re: your message",
    body: str = "Thanks, here is the answer.",
    references: list[str] | None = None,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = message_id or make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    if references:
        msg["In-Reply-To"] = references[-1]
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body + "\n\nOn Wed, 25 Nov 2026 at 10:00, secdesk <security@secdesk.example> wrote:\n> Old text\n")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)
