"""Reading one inbound e-mail: a pure function from raw bytes to what the desk needs.

:func:`parse_reply` never raises. It returns a :class:`ParsedReply` with the
sender, the threading headers, the reply text with the quoted history
removed, the attachments, and two verdicts:

* ``auto_reply`` — an out-of-office, a bounce or list traffic, never posted
  (RFC 3834 ``Auto-Submitted`` other than ``no``; ``Precedence: bulk|junk|list``;
  ``X-Autoreply``/``X-Autorespond``; a delivery status notification,
  ``multipart/report; report-type=delivery-status``; a ``MAILER-DAEMON``
  sender or an empty return path ``<>``);
* ``malformed`` — the MIME structure is broken (missing or unterminated
  boundaries, a multipart that is not one, an unparseable message, no
  single sender address): the message is kept for a person to inspect.

Quoted history is recognised the way the common clients write it: ``> ``
lines; an ``On … wrote:`` attribution (also wrapped over two or three lines,
as Gmail does); Outlook's ``From: … Sent: …`` header block (after a
``____`` rule or not) and ``-----Original Message-----``; in HTML-only mail,
Gmail's ``gmail_quote``, Thunderbird's ``moz-cite-prefix`` and
``<blockquote type="cite">``, and Outlook's ``divRplyFwdMsg`` — the HTML is
converted to plain text (nothing of it is ever rendered).

No Django import: the same function serves IMAP polling, the LMTP gateway
and any future webhook, and is tested on raw messages alone.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import errors as email_errors
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Final

__all__ = [
    "MAX_PARTS",
    "Attachment",
    "ParsedReply",
    "confirmation_candidates",
    "html_to_text",
    "parse_reply",
    "reply_tokens",
    "strip_quoted",
]

#: More leaf parts than this and the message is not read further (a MIME bomb).
MAX_PARTS: Final = 200
#: Deeper nesting than this is refused as malformed.
MAX_DEPTH: Final = 20
#: HTML longer than this is cut before it is converted (the converter is linear, but be frugal).
MAX_HTML_CHARS: Final = 2_000_000

_STRUCTURAL_DEFECTS: Final = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.FirstHeaderLineIsContinuationDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
)
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MESSAGE_ID: Final = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,900}>")
_TOKEN_ADDRESS: Final = re.compile(r"^reply\+([A-Za-z0-9._=-]{1,200})@([A-Za-z0-9.-]{1,253})$", re.IGNORECASE)
_BRACKETED: Final = re.compile(r"\[([^\[\]]{1,40})\]")
_ADDRESS: Final = re.compile(
    r"^[^@\s<>()\[\],;:\"\\\x00-\x1f\x7f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
)


@dataclass(frozen=True)
class Attachment:
    """A file sent with the message (the file name is the sender's, to be cleaned before use)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ParsedReply:
    """Everything the desk reads from one message."""

    sender: str = ""  # lower-cased address; "" when there is no single valid one
    sender_name: str = ""
    return_path: str | None = None  # None: no Return-Path header; "": the null path <>
    subject: str = ""
    message_id: str = ""  # "<...>", or "" when absent or unusable
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()  # To, Cc, Delivered-To, X-Original-To (lower-cased)
    date: datetime | None = None
    text: str = ""  # the reply, quoted history removed
    full_text: str = ""  # the whole text body as sent (for people inspecting it)
    attachments: tuple[Attachment, ...] = ()
    auto_reply: bool = False
    auto_reply_reason: str = ""
    malformed: bool = False
    problems: tuple[str, ...] = ()
    authentication_results: tuple[str, ...] = ()
    sha256: str = ""  # of the raw bytes

    @property
    def dedupe_key(self) -> str:
        """What makes two deliveries "the same message": the Message-ID, else the raw bytes' digest."""
        if self.message_id and len(self.message_id) <= 250:
            return self.message_id
        if self.message_id:
            return "sha256-id:" + hashlib.sha256(self.message_id.encode()).hexdigest()
        return "sha256:" + self.sha256


# -- headers -------------------------------------------------------------------------------------------


def _raw_headers(msg: Message, name: str) -> list[str]:
    """Every value of header ``name``, unparsed (never raises on hostile headers)."""
    wanted = name.lower()
    values = []
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            values.append(str(value))
    return values


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", value).replace("\r", "").replace("\n", "").strip()


def _decoded(value: str) -> str:
    """An RFC 2047 encoded header value as text; undecodable parts are replaced, not raised."""
    value = _unfold(value)
    try:
        text = str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, ValueError, email_errors.HeaderParseError):
        text = value
    return re.sub(r"\s*[\r\n]+\s*", " ", _CONTROL.sub("", text)).strip()


def _first(msg: Message, name: str) -> str:
    values = _raw_headers(msg, name)
    return _decoded(values[0]) if values else ""


def _message_ids(values: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        for item in _MESSAGE_ID.findall(_unfold(value)):
            if item not in found:
                found.append(item)
    return tuple(found[:100])


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for name, address in email.utils.getaddresses([_unfold(v) for v in values]):
        address = address.strip()
        if address:
            pairs.append((_decoded(name), address))
    return pairs


def _valid_address(address: str) -> bool:
    return bool(_ADDRESS.match(address)) and address.isascii()


def reply_tokens(recipients: tuple[str, ...] | list[str], domain: str | None = None) -> list[str]:
    """The tokens of ``reply+<token>@<domain>`` addresses among ``recipients`` (any domain when None)."""
    tokens: list[str] = []
    for address in recipients:
        match = _TOKEN_ADDRESS.match(address.strip())
        wanted = match is not None and (domain is None or match.group(2).lower() == domain.lower().strip())
        if match is not None and wanted and match.group(1) not in tokens:
            tokens.append(match.group(1))
    return tokens


def confirmation_candidates(subject: str) -> list[str]:
    """Bracketed texts in the subject that look like a confirmation number (``[SEC-…]``), in order.

    Only the shape is checked here; the caller normalises them (the check
    symbol decides), so this stays free of the domain package.
    """
    found = []
    for inner in _BRACKETED.findall(subject):
        compact = re.sub(r"[\s\-\u2010-\u2015\u2212]+", "", inner)
        if compact[:3].upper() == "SEC" and 10 <= len(compact) <= 14:
            found.append(inner.strip())
    return found


# -- auto replies and bounces ----------------------------------------------------------------------------


def _auto_reply_reason(msg: Message, sender: str, return_path: str | None) -> str:
    auto_submitted = _first(msg, "Auto-Submitted").split(";", 1)[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _first(msg, "Precedence").strip().lower()
    if precedence in {"bulk", "junk", "list"}:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = _raw_headers(msg, name)
        if value and _decoded(value[0]).lower() not in {"no", "false", "0"}:
            return f"{name} header"
    content_type = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "", header="content-type") or "").lower()
    if content_type == "multipart/report" and report_type in {"delivery-status", "disposition-notification"}:
        return f"multipart/report; report-type={report_type}"
    if return_path == "":
        return "empty return path (a bounce)"
    local = sender.split("@", 1)[0].lower()
    if local in {"mailer-daemon", "mailer_daemon"}:
        return "sent by MAILER-DAEMON"
    return ""


# -- bodies ------------------------------------------------------------------------------------------------


def _decode_part(part: Message) -> str:
    """A text part as ``str``, whatever its declared charset (unknown or wrong ones are replaced)."""
    try:
        if isinstance(part, EmailMessage):
            content = part.get_content()
            if isinstance(content, str):
                return content
    except (LookupError, UnicodeError, ValueError, AssertionError, KeyError, TypeError):
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


_QUOTE_HEADER_LINES: Final = (
    re.compile(r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}\s*$", re.I),
)
_FROM_LINE: Final = re.compile(r"^\s*\*?(From|Von|De)\s*:\*?\s*\S", re.I)
_SENT_LINE: Final = re.compile(r"^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé)\s*:\*?\s*\S", re.I)
_RULE_LINE: Final = re.compile(r"^\s*_{10,}\s*$")
_ATTRIBUTION: Final = re.compile(
    r"^\s*(On\s.{1,250}\swrote|Am\s.{1,250}\sschrieb\s.{0,200}|Le\s.{1,250}\sa\s+écrit)\s*:\s*$",
    re.I | re.S,
)


def _cut_index(lines: list[str]) -> int | None:
    """The first line where quoted history starts, or None."""
    for index, line in enumerate(lines):
        if any(p.match(line) for p in _QUOTE_HEADER_LINES):
            return index
        if _RULE_LINE.match(line) and any(_FROM_LINE.match(n) for n in lines[index + 1 : index + 4]):
            return index
        if _FROM_LINE.match(line) and any(_SENT_LINE.match(n) for n in lines[index + 1 : index + 7]):
            return index
        stripped = line.strip()
        if stripped[:3].lower() in {"on ", "am ", "le "}:
            for span in (1, 2, 3):
                joined = " ".join(part.strip() for part in lines[index : index + span])
                if _ATTRIBUTION.match(joined):
                    return index
    return None


def strip_quoted(text: str) -> str:
    """The reply without the quoted history below (or interleaved ``>`` lines within) it."""
    lines = _clean_text(text).split("\n")
    cut = _cut_index(lines)
    if cut is not None:
        lines = lines[:cut]
    kept = [line.rstrip() for line in lines if not line.lstrip().startswith(">")]
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


class _HtmlText(HTMLParser):
    """HTML to plain text, leaving out scripts, styles and the quoted history of common clients."""

    VOID: Final = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    )
    BLOCK: Final = frozenset(
        {
            "p",
            "div",
            "tr",
            "li",
            "ul",
            "ol",
            "table",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "pre",
            "section",
            "article",
            "header",
            "footer",
            "blockquote",
            "address",
        }
    )
    PARAGRAPH: Final = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "ul", "ol", "blockquote"})
    INVISIBLE: Final = frozenset({"script", "style", "head", "title", "template", "noscript", "xml"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, skipping this subtree)
        self.stopped = False  # everything after Outlook's reply header is history

    def _skipping(self) -> bool:
        return self.stopped or any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        classes = set(values.get("class", "").lower().split())
        element_id = values.get("id", "").lower()
        if element_id in {"divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container"}:
            self.stopped = True
        if tag == "hr" and not self._skipping():
            # Outlook (web) starts the history with a rule followed by the reply header.
            self.out.append("\n________________________________\n")
        quoted = (
            tag in self.INVISIBLE
            or bool(classes & {"gmail_quote", "gmail_extra", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote"})
            # Every blockquote in mail is quoted history (type="cite" from Thunderbird and Apple Mail).
            or tag == "blockquote"
        )
        if tag in self.VOID:
            if tag == "br" and not self._skipping():
                self.out.append("\n")
            return
        if tag in self.BLOCK:
            self._break(1)
        if len(self.stack) < 500:
            self.stack.append((tag, quoted))

    def _break(self, lines: int) -> None:
        """End the current line (``lines`` 2: and leave a blank one), unless that is done already."""
        if self._skipping() or not self.out:
            return
        tail = "".join(self.out[-4:]).rstrip(" ")
        have = len(tail) - len(tail.rstrip("\n"))
        if have < lines:
            self.out.append("\n" * (lines - have))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                break
        if tag in self.BLOCK:
            self._break(2 if tag in self.PARAGRAPH else 1)

    def handle_data(self, data: str) -> None:
        if self._skipping():
            return
        text = re.sub(r"[ \t\r\n\f]+", " ", data)
        if text.strip() or (self.out and not self.out[-1].endswith("\n")):
            self.out.append(text)

    def text(self) -> str:
        raw = "".join(self.out).replace("\xa0", " ")
        lines = [line.strip() for line in raw.split("\n")]
        collapsed: list[str] = []
        for line in lines:
            if line or (collapsed and collapsed[-1]):
                collapsed.append(line)
        return _CONTROL.sub("", "\n".join(collapsed)).strip()


def html_to_text(markup: str) -> str:
    """Plain text of an HTML body, without scripts, styles or the quoted history of common clients."""
    parser = _HtmlText()
    try:
        parser.feed(markup[:MAX_HTML_CHARS])
        parser.close()
    except (AssertionError, ValueError, RecursionError):  # pragma: no cover - HTMLParser is very lenient
        return html.unescape(re.sub(r"<[^>]*>", " ", markup[:MAX_HTML_CHARS]))
    return parser.text()


# -- the MIME tree -------------------------------------------------------------------------------------------


@dataclass
class _Walk:
    leaves: list[tuple[Message, tuple[str, ...]]] = field(default_factory=list)  # part, content types above it
    problems: list[str] = field(default_factory=list)
    too_deep: bool = False
    too_many: bool = False


def _walk(part: Message, parents: tuple[str, ...], state: _Walk) -> None:
    if len(parents) > MAX_DEPTH:
        state.too_deep = True
        return
    for defect in getattr(part, "defects", []):
        if isinstance(defect, _STRUCTURAL_DEFECTS):
            state.problems.append(type(defect).__name__)
    content_type = part.get_content_type()
    if part.is_multipart() and content_type != "message/rfc822":
        payload = part.get_payload()
        if not isinstance(payload, list):
            state.problems.append("multipart without parts")
            return
        for child in payload:
            if isinstance(child, Message):
                _walk(child, (*parents, content_type), state)
        return
    if len(state.leaves) >= MAX_PARTS:
        state.too_many = True
        return
    state.leaves.append((part, parents))


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except (ValueError, IndexError, TypeError):  # pragma: no cover - defensive
        return ""


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except (ValueError, IndexError, TypeError, LookupError):
        name = None
    return _CONTROL.sub("", str(name)).strip() if name else ""


def _is_attachment(part: Message, parents: tuple[str, ...]) -> bool:
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        return True
    disposition = _disposition(part)
    if disposition == "attachment":
        return True
    if content_type.startswith("text/") and not _filename(part):
        return False
    # Images embedded in an HTML body (signatures, logos) are part of it, not files sent.
    if "multipart/related" in parents and disposition != "attachment":
        return False
    return bool(_filename(part)) or not (content_type.startswith("text/") or content_type.startswith("multipart/"))


def _attachment(part: Message, index: int) -> Attachment | None:
    content_type = _CONTROL.sub("", part.get_content_type())
    if content_type == "message/rfc822":
        inner = part.get_payload()
        message = inner[0] if isinstance(inner, list) and inner else inner
        try:
            data = message.as_bytes(policy=policy.SMTP) if isinstance(message, Message) else b""
        except (ValueError, LookupError, UnicodeError, TypeError, email_errors.MessageError):
            data = b""
        name = _filename(part) or "forwarded-message.eml"
        return Attachment(name, "message/rfc822", data)
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    name = _filename(part)
    if not name:
        extension = {"text/plain": ".txt", "text/html": ".html", "application/pdf": ".pdf"}.get(content_type, ".bin")
        name = f"attachment-{index}{extension}"
    return Attachment(name, content_type, payload)


def _choose_body(leaves: list[tuple[Message, tuple[str, ...]]]) -> tuple[str, str]:
    """The text of the message (plain preferred, HTML converted), quoted history removed; and the full text."""
    plain = html_part = None
    for part, parents in leaves:
        if _is_attachment(part, parents):
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and plain is None:
            plain = part
        elif content_type == "text/html" and html_part is None:
            html_part = part
    if plain is not None:
        full = _clean_text(_decode_part(plain))
        return strip_quoted(full), full.strip()
    if html_part is not None:
        markup = _decode_part(html_part)
        full_parser = _FullHtmlText()
        try:
            full_parser.feed(markup[:MAX_HTML_CHARS])
            full_parser.close()
            full = full_parser.text()
        except (AssertionError, ValueError, RecursionError):  # pragma: no cover
            full = ""
        return strip_quoted(html_to_text(markup)), full
    return "", ""


class _FullHtmlText(_HtmlText):
    """The whole HTML body as text, quoted history included (for inspection)."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            if tag == "br" and not self._skipping():
                self.out.append("\n")
            return
        if tag in self.BLOCK:
            self._break(1)
        if len(self.stack) < 500:
            self.stack.append((tag, tag in self.INVISIBLE))


# -- the function --------------------------------------------------------------------------------------------


def parse_reply(raw: bytes) -> ParsedReply:
    """Read ``raw`` (an RFC 5322 message); never raises — broken input comes back ``malformed``."""
    digest = hashlib.sha256(raw if isinstance(raw, bytes) else b"").hexdigest()
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        return ParsedReply(malformed=True, problems=("empty message",), sha256=digest)
    try:
        return _parse(bytes(raw), digest)
    except RecursionError:
        return ParsedReply(malformed=True, problems=("nested too deeply",), sha256=digest)
    except Exception as exc:
        return ParsedReply(malformed=True, problems=(f"unreadable: {type(exc).__name__}",), sha256=digest)


def _parse(raw: bytes, digest: str) -> ParsedReply:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    problems: list[str] = []

    from_values = _raw_headers(msg, "From")
    senders = _addresses(from_values)
    sender = sender_name = ""
    if len(from_values) > 1 or len(senders) > 1:
        problems.append("more than one From address")
    elif not senders:
        problems.append("no From address")
    elif not _valid_address(senders[0][1]):
        problems.append("the From address is not valid")
    else:
        sender_name, sender = senders[0][0], senders[0][1].lower()

    return_paths = _raw_headers(msg, "Return-Path")
    return_path: str | None = None
    if return_paths:
        value = _unfold(return_paths[0])
        inner = value.strip().strip("<>").strip()
        return_path = inner.lower()

    recipients: list[str] = []
    for name in ("Delivered-To", "X-Original-To", "To", "Cc", "Envelope-To"):
        for _display, address in _addresses(_raw_headers(msg, name)):
            address = address.lower()
            if address not in recipients:
                recipients.append(address)

    message_ids = _message_ids(_raw_headers(msg, "Message-ID"))
    date = None
    date_value = _first(msg, "Date")
    if date_value:
        try:
            date = email.utils.parsedate_to_datetime(date_value)
        except (TypeError, ValueError, IndexError):
            date = None

    state = _Walk()
    _walk(msg, (), state)
    problems.extend(dict.fromkeys(state.problems))
    if state.too_deep:
        problems.append(f"MIME parts nested deeper than {MAX_DEPTH}")
    if state.too_many:
        problems.append(f"more than {MAX_PARTS} MIME parts")

    text, full_text = _choose_body(state.leaves)
    attachments: list[Attachment] = []
    for part, parents in state.leaves:
        if _is_attachment(part, parents):
            item = _attachment(part, len(attachments) + 1)
            if item is not None:
                attachments.append(item)

    auto_reason = _auto_reply_reason(msg, sender, return_path)
    return ParsedReply(
        sender=sender,
        sender_name=sender_name,
        return_path=return_path,
        subject=_first(msg, "Subject"),
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=_message_ids(_raw_headers(msg, "In-Reply-To")),
        references=_message_ids(_raw_headers(msg, "References")),
        recipients=tuple(recipients),
        date=date,
        text=text,
        full_text=full_text,
        attachments=tuple(attachments),
        auto_reply=bool(auto_reason),
        auto_reply_reason=auto_reason,
        malformed=bool(problems),
        problems=tuple(problems),
        authentication_results=tuple(_decoded(v) for v in _raw_headers(msg, "Authentication-Results")),
        sha256=digest,
    )
