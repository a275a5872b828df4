"""The message thread through the live API: replies, internal notes, attachments and their downloads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.http.test_api_tickets import no_nagle  # noqa: F401 — autouse fixture: a fast live server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def number(world) -> str:
    """A submitted vulnerability ticket of contoso (alice)."""
    from secdesk.domain.intake import Answers
    from secdesk.tickets import services

    ticket, _ = services.create_ticket(
        world.actor("alice"),
        answers=Answers(
            category="vulnerability",
            offers=("contoso-backup",),
            description="RCE",
            cve_ids=("CVE-2026-1000",),
            mitigation="none",
        ),
        submit=True,
    )
    return ticket.confirmation_number


def stored_files(settings) -> list[Path]:
    root = Path(settings.ATTACHMENT_DIR)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def message_count() -> int:
    from secdesk.tickets.models import Message

    return Message.objects.count()


def test_publisher_replies_with_json_and_reads_the_thread(api, number):
    alice = api("alice")
    posted = alice.post(f"/tickets/{number}/messages", json={"body": "Patch is on its way."})
    assert posted.status_code == 201, posted.text
    message = posted.json()
    assert message["body"] == "Patch is on its way."
    assert message["internal"] is False
    assert message["from_marketplace"] is False
    assert message["author"] == "Alice Contoso"
    assert message["attachments"] == []

    reply = api("rita").post(f"/tickets/{number}/messages", json={"body": "Thanks, we are assessing."})
    assert reply.status_code == 201
    assert reply.json()["from_marketplace"] is True

    thread = alice.get(f"/tickets/{number}/messages")
    assert thread.status_code == 200
    assert [(m["body"], m["author"]) for m in thread.json()] == [
        ("Patch is on its way.", "Alice Contoso"),
        ("Thanks, we are assessing.", "Rita Responder"),
    ]
    kinds = [e["kind"] for e in alice.get(f"/tickets/{number}").json()["timeline"]]
    assert kinds == ["ticket.created", "ticket.submitted", "message.created", "message.created"]


def test_multipart_message_with_several_files_and_exact_downloads(api, number, settings):
    alice = api("alice")
    first = b"%PDF-1.7 proof of concept\n" + bytes(range(256)) * 40
    second = b"<script>alert(1)</script>"
    response = alice.post(
        f"/tickets/{number}/messages",
        data={"body": "Two files attached."},
        files=[
            ("files", ("poc.pdf", first, "application/pdf")),
            ("files", ("exploit.html", second, "text/html")),
        ],
    )
    assert response.status_code == 201, response.text
    attachments = response.json()["attachments"]
    assert [(a["filename"], a["size"], a["sha256"]) for a in attachments] == [
        ("poc.pdf", len(first), hashlib.sha256(first).hexdigest()),
        ("exploit.html", len(second), hashlib.sha256(second).hexdigest()),
    ]
    assert [a["content_type"] for a in attachments] == ["application/pdf", "text/html"]
    assert len(stored_files(settings)) == 2

    for item, content in zip(attachments, (first, second), strict=True):
        assert item["url"] == f"/api/v1/tickets/{number}/attachments/{item['id']}"
        download = alice.get(f"/tickets/{number}/attachments/{item['id']}")
        assert download.status_code == 200
        assert download.content == content
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert f'filename="{item["filename"]}"' in download.headers["Content-Disposition"]
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Content-Type"] == "application/octet-stream"  # never rendered as HTML
        assert download.headers["Content-Length"] == str(len(content))

    # The reading side sees the same attachments on the thread, and staff can download them too.
    thread = alice.get(f"/tickets/{number}/messages").json()
    assert [a["id"] for a in thread[0]["attachments"]] == [a["id"] for a in attachments]
    assert api("rita").get(f"/tickets/{number}/attachments/{attachments[1]['id']}").content == second


def test_another_organisation_cannot_see_the_thread_or_download(api, number):
    alice = api("alice")
    item = alice.post(
        f"/tickets/{number}/messages", data={"body": "file"}, files=[("files", ("a.txt", b"secret", "text/plain"))]
    ).json()["attachments"][0]
    bob = api("bob")
    download = bob.get(f"/tickets/{number}/attachments/{item['id']}")
    unknown = alice.get(f"/tickets/{number}/attachments/0000000000000000")
    assert download.status_code == unknown.status_code == 404
    assert download.json()["detail"] == unknown.json()["detail"]
    assert b"secret" not in download.content
    assert bob.get(f"/tickets/{number}/messages").status_code == 404
    before = message_count()
    assert bob.post(f"/tickets/{number}/messages", json={"body": "hi"}).status_code == 404
    assert message_count() == before
    assert api(None).get(f"/tickets/{number}/attachments/{item['id']}").status_code == 401


def test_internal_notes_are_for_staff_only(api, number):
    rita = api("rita")
    note = rita.post(
        f"/tickets/{number}/messages",
        data={"body": "Looks like a duplicate of an older report.", "internal": "true"},
        files=[("files", ("triage.txt", b"internal triage notes", "text/plain"))],
    )
    assert note.status_code == 201, note.text
    assert note.json()["internal"] is True
    note_attachment = note.json()["attachments"][0]["id"]
    public = rita.post(f"/tickets/{number}/messages", json={"body": "We are on it."}).json()

    staff_thread = rita.get(f"/tickets/{number}/messages").json()
    assert [m["internal"] for m in staff_thread] == [True, False]
    assert rita.get(f"/tickets/{number}/attachments/{note_attachment}").content == b"internal triage notes"

    alice = api("alice")
    publisher_thread = alice.get(f"/tickets/{number}/messages").json()
    assert [m["id"] for m in publisher_thread] == [public["id"]]
    assert "duplicate" not in alice.get(f"/tickets/{number}/messages").text
    assert alice.get(f"/tickets/{number}/attachments/{note_attachment}").status_code == 404
    publisher_kinds = [e["kind"] for e in alice.get(f"/tickets/{number}").json()["timeline"]]
    assert "note.added" not in publisher_kinds
    staff_kinds = [e["kind"] for e in rita.get(f"/tickets/{number}").json()["timeline"]]
    assert staff_kinds == ["ticket.created", "ticket.submitted", "note.added", "message.created"]

    # The auditor reads everything, internal notes included.
    audrey = api("audrey")
    assert [m["internal"] for m in audrey.get(f"/tickets/{number}/messages").json()] == [True, False]
    assert audrey.get(f"/tickets/{number}/attachments/{note_attachment}").status_code == 200


def test_publisher_cannot_post_an_internal_note(api, number):
    alice = api("alice")
    before = message_count()
    as_json = alice.post(f"/tickets/{number}/messages", json={"body": "psst", "internal": True})
    as_form = alice.post(f"/tickets/{number}/messages", files={"body": (None, "psst"), "internal": (None, "true")})
    assert as_json.status_code == as_form.status_code == 403
    assert as_json.headers["Content-Type"] == "application/problem+json"
    assert message_count() == before


def test_auditor_and_read_token_read_but_cannot_post(api, number, settings):
    api("alice").post(f"/tickets/{number}/messages", json={"body": "hello"})
    for client in (api("audrey"), api("alice", scope="read"), api("rita", scope="read")):
        before = message_count()
        assert client.get(f"/tickets/{number}/messages").status_code == 200
        assert client.post(f"/tickets/{number}/messages", json={"body": "no"}).status_code == 403
        upload = client.post(
            f"/tickets/{number}/messages", data={"body": "no"}, files=[("files", ("x.txt", b"x", "text/plain"))]
        )
        assert upload.status_code == 403
        assert message_count() == before
    assert stored_files(settings) == []


def test_empty_file_is_refused_and_nothing_is_stored(api, number, settings):
    before = message_count()
    response = api("alice").post(
        f"/tickets/{number}/messages",
        data={"body": "see attached"},
        files=[("files", ("ok.txt", b"fine", "text/plain")), ("files", ("empty.txt", b"", "text/plain"))],
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("files.1", "empty")]
    assert message_count() == before
    assert stored_files(settings) == []

    alone = api("alice").post(f"/tickets/{number}/messages", files=[("files", ("empty.txt", b"", "text/plain"))])
    assert alone.status_code == 422
    assert [e["field"] for e in alone.json()["errors"]] == ["files.0"]


def test_oversize_file_is_refused_and_nothing_is_stored(api, number, settings):
    from secdesk.tickets.models import Attachment

    settings.MAX_ATTACHMENT_BYTES = 1000
    before = message_count()
    response = api("alice").post(
        f"/tickets/{number}/messages",
        data={"body": "big one"},
        files=[
            ("files", ("small.txt", b"a" * 1000, "text/plain")),
            ("files", ("big.bin", b"b" * 1001, "application/octet-stream")),
        ],
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "files.1"
    assert error["code"] == "too_large"
    assert message_count() == before
    assert Attachment.objects.count() == 0
    assert stored_files(settings) == []

    exactly = api("alice").post(
        f"/tickets/{number}/messages", data={"body": "ok"}, files=[("files", ("a.txt", b"a" * 1000, "text/plain"))]
    )
    assert exactly.status_code == 201
    assert len(stored_files(settings)) == 1


def test_message_needs_a_body_or_a_file(api, number):
    before = message_count()
    for payload in ({"body": ""}, {"body": "   "}, {}):
        response = api("alice").post(f"/tickets/{number}/messages", json=payload)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["body"]
    file_only = api("alice").post(f"/tickets/{number}/messages", files=[("files", ("a.txt", b"1", "text/plain"))])
    assert file_only.status_code == 201
    assert message_count() == before + 1


def test_hostile_filenames_are_stored_under_a_safe_name_outside_static_files(api, number, settings, live_server):
    from secdesk import settings as configured
    from secdesk.tickets.models import Attachment

    alice = api("alice")
    response = alice.post(
        f"/tickets/{number}/messages",
        data={"body": "names"},
        files=[
            ("files", ("../../etc/passwd", b"root:x:0:0", "text/plain")),
            ("files", ("..\\..\\boot.ini", b"[boot]", "text/plain")),
            ("files", ("evil\x07name\r\n.txt", b"bell", "text/plain")),
        ],
    )
    assert response.status_code == 201, response.text
    names = [a["filename"] for a in response.json()["attachments"]]
    assert names[0] == "passwd"
    assert names[1] == "boot.ini"
    for name in names:
        assert "/" not in name
        assert "\\" not in name
        assert ".." not in name
        assert not any(ord(ch) < 32 for ch in name)

    root = Path(settings.ATTACHMENT_DIR).resolve()
    static_roots = [Path(configured.STATIC_ROOT).resolve(), *(Path(d).resolve() for d in settings.STATICFILES_DIRS)]
    for item in Attachment.objects.all():
        path = (root / item.storage_name).resolve()
        assert path.is_file()
        assert root in path.parents
        assert "passwd" not in item.storage_name
        # Not reachable as a static file.
        assert requests_get(live_server.url + "/static/" + item.storage_name).status_code == 404
    # The configured attachment directory (not just this test's) is outside every static directory.
    configured_root = Path(configured.ATTACHMENT_DIR).resolve()
    for static in static_roots:
        assert configured_root != static
        assert static not in configured_root.parents
        assert configured_root not in static.parents


def requests_get(url: str):
    import requests

    return requests.get(url, timeout=10)


def test_json_message_rejects_unknown_fields_and_non_objects(api, number):
    alice = api("alice")
    before = message_count()
    unknown = alice.post(f"/tickets/{number}/messages", json={"body": "x", "colour": "red"})
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["colour"]
    for payload in ([1, 2], "text", 3, None):
        response = alice.post(f"/tickets/{number}/messages", json=payload)
        assert response.status_code == 422, payload
    nul = alice.post(f"/tickets/{number}/messages", json={"body": "a\x00b"})
    assert nul.status_code == 422
    assert [e["field"] for e in nul.json()["errors"]] == ["body"]
    assert message_count() == before


def test_invalid_utf8_message_body_is_a_bad_request(api, number):
    response = api("alice").post(
        f"/tickets/{number}/messages", data=b'{"body": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 400


def test_draft_cannot_carry_an_internal_note_and_staff_cannot_see_drafts(api, world):
    from secdesk.domain.intake import Answers
    from secdesk.tickets import services

    draft, _ = services.create_ticket(world.actor("alice"), answers=Answers(category="vulnerability"))
    number = draft.confirmation_number
    assert api("rita").post(f"/tickets/{number}/messages", json={"body": "x", "internal": True}).status_code == 404
    assert api("alice").post(f"/tickets/{number}/messages", json={"body": "draft note"}).status_code == 201
