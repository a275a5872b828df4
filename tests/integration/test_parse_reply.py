"""``parse_reply`` on raw messages shaped like the ones real clients send.

Outlook (Microsoft 365), Gmail and Thunderbird replies, with their real
header shapes and their ways of quoting; auto-replies and bounces;
malformed MIME; hostile content. No database: the parser is a pure function.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secdesk.domain import confirmation
from secdesk.inbound.parsing import (
    MAX_PARTS,
    confirmation_candidates,
    html_to_text,
    parse_reply,
    reply_tokens,
    strip_quoted,
)

CN = confirmation.generate(lambda n: bytes(range(1, n + 1)))
LOG = b"2026-11-25T09:58:01Z upload: POST /api/upload 500 (exploit attempt)\n"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode()


OUTLOOK = crlf(
    f"""Received: from AM9PR03MB7345.eurprd03.prod.outlook.com (2603:10a6:20b:2e8::9) by
 AM0PR03MB6324.eurprd03.prod.outlook.com with HTTPS; Wed, 25 Nov 2026 10:12:45 +0000
From: Alice Contoso <Alice@Contoso.example>
To: secdesk <reply+tk42.f00d@inbound.example.test>
Subject: RE: [{CN}] What we need from you: affected versions
Thread-Topic: [{CN}] What we need from you: affected versions
Thread-Index: AQHbX2x1c2VjZGVzay1yZXBseQ==
Date: Wed, 25 Nov 2026 10:12:44 +0000
Message-ID:
 <AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7A@AM9PR03MB7345.eurprd03.prod.outlook.com>
References: <ticket-{CN}@secdesk.example>
 <delivery-7f3a9c@secdesk.example>
In-Reply-To: <delivery-7f3a9c@secdesk.example>
Accept-Language: en-GB, en-US
Content-Language: en-GB
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator:
msip_labels:
x-ms-publictraffictype: Email
Content-Type: multipart/mixed;
	boundary="_004_AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7AAM9PR03MB7345eurp_"
MIME-Version: 1.0

--_004_AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7AAM9PR03MB7345eurp_
Content-Type: multipart/alternative;
	boundary="_000_AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7AAM9PR03MB7345eurp_"

--_000_AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7AAM9PR03MB7345eurp_
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Hi Rita,

Versions 4.2.0 to 4.2.3 are affected; the server log is attached.

Kind regards,
Alice

________________________________
From: secdesk <security@secdesk.example>
Sent: Wednesday, November 25, 2026 09:00
To: Alice Contoso <alice@contoso.example>
Subject: [{CN}] What we need from you: affected versions

Please tell us which versions are affected by the upload flaw.

--_000_AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7AAM9PR03MB7345eurp_
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html>
<head>
<meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3Diso-8859-=
1">
<style type=3D"text/css" style=3D"display:none;"> P {{margin-top:0;margin-bo=
ttom:0;}} </style>
</head>
<body dir=3D"ltr">
<div class=3D"elementToProof" style=3D"font-family: Aptos, sans-serif;">Hi =
Rita,</div>
<div class=3D"elementToProof">Versions 4.2.0 to 4.2.3 are affected; the serv=
er log is attached.</div>
<div id=3D"appendonsend"></div>
<hr style=3D"display:inline-block;width:98%" tabindex=3D"-1">
<div id=3D"divRplyFwdMsg" dir=3D"ltr"><font face=3D"Calibri, sans-serif" st=
yle=3D"font-size:11pt"><b>From:</b> secdesk &lt;security@secdesk.example&gt;=
<br><b>Sent:</b> Wednesday, November 25, 2026 09:00</font></div>
<div>Please tell us which versions are affected by the upload flaw.</div>
</body>
</html>

--_000_AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7AAM9PR03MB7345eurp_--

--_004_AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7AAM9PR03MB7345eurp_
Content-Type: text/plain; name="upload.log"
Content-Description: upload.log
Content-Disposition: attachment; filename="upload.log"; size={len(LOG)};
	creation-date="Wed, 25 Nov 2026 10:11:02 GMT";
	modification-date="Wed, 25 Nov 2026 10:11:02 GMT"
Content-Transfer-Encoding: base64

{b64(LOG)}
--_004_AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7AAM9PR03MB7345eurp_--
"""
)

GMAIL = crlf(
    f"""MIME-Version: 1.0
Date: Wed, 25 Nov 2026 11:03:27 +0100
References: <ticket-{CN}@secdesk.example> <delivery-7f3a9c@secdesk.example>
In-Reply-To: <delivery-7f3a9c@secdesk.example>
Message-ID: <CAKx7Vs2h+Q0Fq=K3nE4pXy9bR6sT8uW1zA5cD7eF9gH0jK2L4M@mail.gmail.com>
Subject: Re: [{CN}] Please confirm the fix
From: Bob Fabrikam <bob@fabrikam.example>
To: secdesk <security@secdesk.example>
Content-Type: multipart/mixed; boundary="000000000000f1e2d3c4b5a69788"

--000000000000f1e2d3c4b5a69788
Content-Type: multipart/alternative; boundary="000000000000f1e2d3c4b5a69786"

--000000000000f1e2d3c4b5a69786
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Thanks =E2=80=94 the fix is deployed to every region, report attached.

On Wed, Nov 25, 2026 at 10:00=E2=80=AFAM secdesk <security@secdesk.example>=

wrote:

> Please confirm the fix is deployed.
>
> --
> secdesk
>

--000000000000f1e2d3c4b5a69786
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Thanks =E2=80=94 the fix is deployed to every region, repor=
t attached.</div><br><div class=3D"gmail_quote gmail_quote_container"><div =
dir=3D"ltr" class=3D"gmail_attr">On Wed, Nov 25, 2026 at 10:00=E2=80=AFAM s=
ecdesk &lt;<a href=3D"mailto:security@secdesk.example">security@secdesk.exa=
mple</a>&gt; wrote:<br></div><blockquote class=3D"gmail_quote" style=3D"mar=
gin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1=
ex">Please confirm the fix is deployed.</blockquote></div>

--000000000000f1e2d3c4b5a69786--
--000000000000f1e2d3c4b5a69788
Content-Type: application/pdf; name="fix-report.pdf"
Content-Disposition: attachment; filename="fix-report.pdf"
Content-Transfer-Encoding: base64
X-Attachment-Id: f_m3x1y2z30
Content-ID: <f_m3x1y2z30>

{b64(PDF)}
--000000000000f1e2d3c4b5a69788--
"""
)

THUNDERBIRD_HTML = crlf(
    f"""Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 7bit
Message-ID: <8f3c2a1e-5b7d-4e9a-b6c1-2d3e4f5a6b7c@contoso.example>
Date: Wed, 25 Nov 2026 12:00:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: [{CN}] Please rotate the keys
Content-Language: en-GB
To: secdesk <security@secdesk.example>
References: <ticket-{CN}@secdesk.example>
 <delivery-9b1e@secdesk.example>
From: Alice Contoso <alice@contoso.example>
In-Reply-To: <delivery-9b1e@secdesk.example>

<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
  </head>
  <body>
    <p>We have rotated the signing keys &amp; revoked the old ones.</p>
    <p>Alice<br>
    </p>
    <div class="moz-cite-prefix">On 25/11/2026 10:00, secdesk wrote:<br>
    </div>
    <blockquote type="cite"
      cite="mid:delivery-9b1e@secdesk.example">
      <p>Please rotate the keys.</p>
    </blockquote>
  </body>
</html>
"""
)

THUNDERBIRD_PLAIN = crlf(
    f"""Message-ID: <0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a@contoso.example>
Date: Wed, 25 Nov 2026 12:30:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: [{CN}] Please rotate the keys
To: secdesk <security@secdesk.example>
From: Alice Contoso <alice@contoso.example>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Done as well for the staging environment.

On 25/11/2026 10:00, secdesk wrote:
> Please rotate the keys.
"""
)


# -- the three clients -------------------------------------------------------------------------------------


def test_outlook_reply_headers_text_and_attachment():
    parsed = parse_reply(OUTLOOK)
    assert not parsed.malformed, parsed.problems
    assert not parsed.auto_reply
    assert parsed.sender == "alice@contoso.example"
    assert parsed.sender_name == "Alice Contoso"
    assert parsed.subject == f"RE: [{CN}] What we need from you: affected versions"
    assert parsed.message_id == "<AM9PR03MB7345F1E1C8D0B0E2A1B3C4D5E6F7A@AM9PR03MB7345.eurprd03.prod.outlook.com>"
    assert parsed.in_reply_to == ("<delivery-7f3a9c@secdesk.example>",)
    assert parsed.references == (f"<ticket-{CN}@secdesk.example>", "<delivery-7f3a9c@secdesk.example>")
    assert parsed.text == (
        "Hi Rita,\n\nVersions 4.2.0 to 4.2.3 are affected; the server log is attached.\n\nKind regards,\nAlice"
    )
    assert "Please tell us which versions" in parsed.full_text  # the whole text stays for inspection
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [("upload.log", "text/plain", LOG)]
    assert reply_tokens(parsed.recipients, "inbound.example.test") == ["tk42.f00d"]
    assert confirmation_candidates(parsed.subject) == [CN]


def test_outlook_html_only_reply_drops_the_reply_header_block():
    html_only = (
        OUTLOOK.split(b'Content-Type: text/html; charset="iso-8859-1"')[1].split(b"\r\n--_000_")[0].decode("latin-1")
    )
    markup = html_only.split("\r\n\r\n", 1)[1]
    import quopri

    text = html_to_text(quopri.decodestring(markup.encode()).decode("latin-1"))
    assert text == "Hi Rita,\nVersions 4.2.0 to 4.2.3 are affected; the server log is attached."


def test_gmail_reply_wrapped_attribution_and_pdf():
    parsed = parse_reply(GMAIL)
    assert not parsed.malformed, parsed.problems
    assert parsed.sender == "bob@fabrikam.example"
    assert parsed.text == "Thanks — the fix is deployed to every region, report attached."
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("fix-report.pdf", "application/pdf", PDF)
    ]
    assert parsed.references[0] == f"<ticket-{CN}@secdesk.example>"


def test_gmail_html_only_drops_gmail_quote():
    markup = (
        '<div dir="ltr">Patched in 4.2.4.</div><br><div class="gmail_quote gmail_quote_container">'
        '<div dir="ltr" class="gmail_attr">On Wed, Nov 25, 2026 at 10:00 AM secdesk wrote:<br></div>'
        '<blockquote class="gmail_quote">Which version?</blockquote></div>'
    )
    assert html_to_text(markup) == "Patched in 4.2.4."


def test_thunderbird_html_only_reply_is_converted_and_the_citation_dropped():
    parsed = parse_reply(THUNDERBIRD_HTML)
    assert not parsed.malformed, parsed.problems
    assert parsed.text == "We have rotated the signing keys & revoked the old ones.\n\nAlice"
    assert "Please rotate the keys." in parsed.full_text
    assert parsed.in_reply_to == ("<delivery-9b1e@secdesk.example>",)


def test_thunderbird_plain_reply():
    parsed = parse_reply(THUNDERBIRD_PLAIN)
    assert parsed.text == "Done as well for the staging environment."


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Fixed.\n\n-----Original Message-----\nFrom: secdesk\nSent: Monday\n\nOld", "Fixed."),
        ("Fixed.\n\nFrom: secdesk <s@d.example>\nSent: Monday, 1 June 2026 10:00\nTo: a\n\nOld", "Fixed."),
        ("Fixed.\n\nOn Mon, 1 Jun 2026 at 10:00, secdesk <s@d.example> wrote:\n> Old", "Fixed."),
        ("Fixed.\n\nAm 01.06.2026 um 10:00 schrieb secdesk <s@d.example>:\n> Alt", "Fixed."),
        ("> question one\nanswer one\n> question two\nanswer two", "answer one\nanswer two"),
        ("Only a quote follows.\n>\n> On Monday someone wrote:\n> > deep", "Only a quote follows."),
        ("From: here to there, this is my own sentence.\nNo header block.", None),
    ],
)
def test_strip_quoted_styles(text, kept):
    assert strip_quoted(text) == (text if kept is None else kept)


# -- auto replies and bounces -------------------------------------------------------------------------------


def reply(extra_headers: str, body: str = "I am out of the office until Monday.", **kwargs: str) -> bytes:
    sender = kwargs.get("sender", "alice@contoso.example")
    return crlf(
        f"From: {sender}\nTo: security@secdesk.example\nSubject: Automatic reply: [{CN}]\n"
        f"Message-ID: <{abs(hash(extra_headers + sender))}@contoso.example>\n{extra_headers}"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    )


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-replied\n", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated; owner-email=x@y\n", "Auto-Submitted: auto-generated"),
        ("Precedence: bulk\n", "Precedence: bulk"),
        ("Precedence: junk\n", "Precedence: junk"),
        ("Precedence: list\n", "Precedence: list"),
        ("X-Autoreply: yes\n", "X-Autoreply header"),
        ("X-Autorespond: Out of office\n", "X-Autorespond header"),
        ("Return-Path: <>\n", "empty return path (a bounce)"),
    ],
)
def test_auto_replies_are_recognised(headers, reason):
    parsed = parse_reply(reply(headers))
    assert parsed.auto_reply
    assert parsed.auto_reply_reason == reason


def test_auto_submitted_no_is_a_person():
    parsed = parse_reply(reply("Auto-Submitted: no\nPrecedence: first-class\n"))
    assert not parsed.auto_reply
    assert parsed.text == "I am out of the office until Monday."


def test_exchange_out_of_office():
    raw = crlf(
        f"""From: Alice Contoso <alice@contoso.example>
To: secdesk <reply+tk42.f00d@inbound.example.test>
Subject: Automatic reply: [{CN}] What we need from you
Thread-Topic: [{CN}] What we need from you
Date: Wed, 25 Nov 2026 10:00:03 +0000
Message-ID: <0fa1b2c3d4e5f60718293a4b5c6d7e8f@AM9PR03MB7345.eurprd03.prod.outlook.com>
In-Reply-To: <delivery-7f3a9c@secdesk.example>
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: alice@contoso.example
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am away until 1 December with no access to e-mail.
"""
    )
    parsed = parse_reply(raw)
    assert parsed.auto_reply
    assert parsed.auto_reply_reason == "Auto-Submitted: auto-generated"


def test_delivery_status_notification_from_mailer_daemon():
    raw = crlf(
        f"""Return-Path: <>
Received: by mx.contoso.example (Postfix) id 4ZzX1q2w3e; Wed, 25 Nov 2026 10:00:05 +0000 (UTC)
Date: Wed, 25 Nov 2026 10:00:05 +0000 (UTC)
From: MAILER-DAEMON@mx.contoso.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: reply+tk42.f00d@inbound.example.test
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4ZzX1q2w3e.1764064805/mx.contoso.example"
Message-Id: <20261125100005.4ZzX1q2w3e@mx.contoso.example>

This is a MIME-encapsulated message.

--4ZzX1q2w3e.1764064805/mx.contoso.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<gone@contoso.example>: host mx.contoso.example said: 550 5.1.1 User unknown

--4ZzX1q2w3e.1764064805/mx.contoso.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.contoso.example
Arrival-Date: Wed, 25 Nov 2026 10:00:04 +0000 (UTC)

Final-Recipient: rfc822; gone@contoso.example
Action: failed
Status: 5.1.1

--4ZzX1q2w3e.1764064805/mx.contoso.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Subject: [{CN}] What we need from you
Message-ID: <delivery-7f3a9c@secdesk.example>

--4ZzX1q2w3e.1764064805/mx.contoso.example--
"""
    )
    parsed = parse_reply(raw)
    assert parsed.auto_reply
    assert parsed.auto_reply_reason == "Auto-Submitted: auto-replied"
    without_header = raw.replace(b"Auto-Submitted: auto-replied\r\n", b"").replace(b"Return-Path: <>\r\n", b"")
    again = parse_reply(without_header)
    assert again.auto_reply_reason == "multipart/report; report-type=delivery-status"
    plain_bounce = crlf("From: MAILER-DAEMON@mx.contoso.example\nSubject: failure\n\nUser unknown\n")
    assert parse_reply(plain_bounce).auto_reply_reason == "sent by MAILER-DAEMON"


# -- malformed MIME: kept, flagged, never raised ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "empty message"),
        (b"   \r\n", "empty message"),
        (crlf("Subject: no sender\n\nhello\n"), "no From address"),
        (crlf("From: a@contoso.example\nFrom: b@contoso.example\nSubject: x\n\nhello\n"), "more than one From address"),
        (crlf("From: a@contoso.example, mallory@evil.example\nSubject: x\n\nhello\n"), "more than one From address"),
        (crlf("From: not an address\nSubject: x\n\nhello\n"), "the From address is not valid"),
        (
            crlf(
                "From: a@contoso.example\nContent-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n"
            ),
            "NoBoundaryInMultipartDefect",
        ),
        (
            crlf("From: a@contoso.example\nContent-Type: multipart/mixed; boundary=zz\n\nno parts at all\n"),
            "StartBoundaryNotFoundDefect",
        ),
        (
            crlf(
                "From: a@contoso.example\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n"
                "Content-Type: text/plain\n\ntruncated in the middle of the"
            ),
            "CloseBoundaryNotFoundDefect",
        ),
        (b"\x00\xff\xfe garbage \x00 with no headers at all", "no From address"),
    ],
)
def test_malformed_messages_are_flagged_not_raised(raw, problem):
    parsed = parse_reply(raw)
    assert parsed.malformed
    assert problem in parsed.problems
    assert parsed.sha256  # the raw bytes can still be identified


def test_too_many_parts_is_malformed():
    parts = "".join(
        f"--b\nContent-Type: text/plain; name=f{i}.txt\nContent-Disposition: attachment\n\n{i}\n"
        for i in range(MAX_PARTS + 5)
    )
    raw = crlf(f"From: a@contoso.example\nContent-Type: multipart/mixed; boundary=b\n\n{parts}--b--\n")
    parsed = parse_reply(raw)
    assert parsed.malformed
    assert f"more than {MAX_PARTS} MIME parts" in parsed.problems
    assert len(parsed.attachments) <= MAX_PARTS


def test_deeply_nested_multiparts_are_malformed():
    depth = 60
    head = "".join(f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(depth))
    tail = "".join(f"--b{i}--\n" for i in reversed(range(depth + 1)))
    raw = crlf(
        f"From: a@contoso.example\nContent-Type: multipart/mixed; boundary=b0\n\n{head}"
        f"--b{depth}\nContent-Type: text/plain\n\ndeep\n{tail}"
    )
    parsed = parse_reply(raw)
    assert parsed.malformed
    assert any("nested" in p for p in parsed.problems)


# -- hostile content ------------------------------------------------------------------------------------------


def test_hostile_html_is_only_ever_text():
    raw = crlf(
        "From: a@contoso.example\nSubject: x\nContent-Type: text/html; charset=utf-8\n\n"
        "<html><head><title>t</title><style>body{display:none}</style>"
        "<script>alert(document.cookie)</script></head><body>"
        '<p onclick="steal()">Visible <b>text</b></p><img src=x onerror=alert(1)>'
        "<iframe src=https://evil.example/></iframe><noscript>hidden</noscript>"
        "<p>&lt;script&gt;not code&lt;/script&gt;</p><div><div><div>unclosed"
    )
    parsed = parse_reply(raw)
    assert not parsed.malformed
    assert parsed.text == "Visible text\n\n<script>not code</script>\n\nunclosed"
    assert "alert" not in parsed.full_text
    assert "display" not in parsed.full_text


def test_control_characters_and_unknown_charsets():
    raw = (
        b"From: a@contoso.example\r\n"
        b"Subject: =?utf-8?q?hello=0D=0ABcc=3A_victim=40example=2Ecom?=\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
        b"line one\x00 with NUL\r\nline \x1b[31mtwo\r\n\xff\xfe\r\n"
    )
    parsed = parse_reply(raw)
    assert not parsed.malformed
    assert "\r" not in parsed.subject
    assert "\n" not in parsed.subject
    assert parsed.subject == "hello Bcc: victim@example.com"
    assert "\x00" not in parsed.text
    assert "\x1b" not in parsed.text
    assert parsed.text.startswith("line one with NUL\nline [31mtwo")


def test_hostile_attachment_names_are_kept_as_data_only():
    evil = "../../etc/passwd"
    raw = crlf(
        "From: a@contoso.example\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nsee attached\n"
        f'--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="{evil}"\n'
        f"Content-Transfer-Encoding: base64\n\n{b64(b'root:x:0:0')}\n"
        "--b\nContent-Type: application/x-msdownload\nContent-Disposition: attachment;"
        " filename*=utf-8''invoice%E2%80%AEgpj.exe\nContent-Transfer-Encoding: base64\n\n"
        f"{b64(b'MZ')}\n--b--\n"
    )
    parsed = parse_reply(raw)
    assert not parsed.malformed
    names = [a.filename for a in parsed.attachments]
    assert names == [evil, "invoice\u202egpj.exe"]  # cleaned when stored (tickets.storage.clean_filename)
    from secdesk.tickets.storage import clean_filename

    assert [clean_filename(n) for n in names] == ["passwd", "invoicegpj.exe"]


def test_forwarded_message_and_signature_images():
    inner = crlf("From: x@y.example\nSubject: original\n\noriginal body\n")
    raw = (
        crlf(
            "From: a@contoso.example\nContent-Type: multipart/mixed; boundary=m\n\n"
            "--m\nContent-Type: multipart/related; boundary=r\n\n"
            '--r\nContent-Type: text/html\n\n<p>See the forwarded mail.</p><img src="cid:logo">\n'
            "--r\nContent-Type: image/png; name=image001.png\nContent-ID: <logo>\n"
            f"Content-Disposition: inline; filename=image001.png\nContent-Transfer-Encoding: base64\n\n{b64(b'PNG')}\n"
            "--r--\n"
            "--m\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=original.eml\n\n"
        )
        + inner
        + b"\r\n--m--\r\n"
    )
    parsed = parse_reply(raw)
    assert not parsed.malformed, parsed.problems
    assert parsed.text == "See the forwarded mail."
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("original.eml", "message/rfc822")]
    assert b"original body" in parsed.attachments[0].data


def test_message_ids_are_normalised_and_bounded():
    raw = crlf(
        "From: a@contoso.example\nMessage-ID:   <abc@host.example>  (comment)\n"
        "References: junk <one@x> <two@x>\n\t<three@x> <one@x>\nIn-Reply-To: <two@x> (Bob's message)\n\nhi\n"
    )
    parsed = parse_reply(raw)
    assert parsed.message_id == "<abc@host.example>"
    assert parsed.references == ("<one@x>", "<two@x>", "<three@x>")
    assert parsed.in_reply_to == ("<two@x>",)
    assert parsed.dedupe_key == "<abc@host.example>"
    no_id = parse_reply(crlf("From: a@contoso.example\n\nhi\n"))
    assert no_id.dedupe_key == "sha256:" + no_id.sha256


def test_subject_confirmation_candidates():
    assert confirmation_candidates(f"Re: [{CN}] x") == [CN]
    assert confirmation_candidates(f"AW: [{CN.lower()}] x [other] [SEC]") == [CN.lower()]
    assert confirmation_candidates("no number here [SECURITY] [SEC-1]") == []


# -- never raises -------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(raw):
    parsed = parse_reply(raw)
    assert isinstance(parsed.malformed, bool)


@settings(max_examples=300, deadline=None)
@given(
    sample=st.sampled_from([OUTLOOK, GMAIL, THUNDERBIRD_HTML]),
    cut=st.integers(min_value=0, max_value=6000),
    junk=st.binary(max_size=40),
    at=st.integers(min_value=0, max_value=6000),
)
def test_damaged_real_messages_never_raise(sample, cut, junk, at):
    damaged = sample[:at] + junk + sample[at:cut] if cut > at else sample[:cut] + junk
    parsed = parse_reply(damaged)
    assert "\x00" not in parsed.text
    assert "\x00" not in parsed.subject
