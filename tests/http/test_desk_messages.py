"""What the desk writes on a thread itself (an assessment result, an offer action) reads in the reader's
language on the publisher's and the triage page, with every free text escaped; the stored text stays the
English one the API and e-mail archive show. Messages written before ``tickets.0006`` get their kind and
facts from that text (the migration's parsers, run here on the exact texts the services write).
"""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.apps import apps as django_apps
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from secdesk.domain.intake import Answers
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Message
from secdesk.triage import services as triage
from secdesk.web.responder.words import OUTCOME

XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"
RAW = ("<script>alert(1)", "<img src=x")
backfill = importlib.import_module("secdesk.tickets.migrations.0006_message_kind_and_facts")


@pytest.fixture(autouse=True)
def _staff_without_totp(settings):
    settings.SECDESK_DEMO_RELAX_MFA = True  # the pages are under test here, not the second factor


@pytest.fixture
def number(world, vulnerability) -> str:
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in vulnerability.items()}
    filed, _created = ticket_services.create_ticket(world.actor("alice"), answers=Answers(**data), submit=True)
    triage.acknowledge(
        world.actor("rita"), confirmation_number=filed.confirmation_number, priority="P1", severity="critical"
    )
    return filed.confirmation_number


def _page(client, world, who: str, url: str, language: str) -> str:
    client.force_login(world.users[who])
    client.cookies["django_language"] = language
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("who", "url"), [("alice", "/tickets/{}/"), ("rita", "/queue/{}/")])
@pytest.mark.parametrize("language", ["en", "tr"])
def test_an_assessment_reads_in_the_readers_language(client, world, number, who, url, language):
    triage.assess(
        world.actor("rita"), confirmation_number=number, outcome="confirmed", summary=f"**Fixed** in 4.2.1 {XSS}"
    )
    message = Message.objects.get(kind=Message.Kind.ASSESSMENT)
    assert message.body.startswith("Assessment result: Confirmed")  # the stored text: English, for the API
    html = _page(client, world, who, url.format(number), language)
    with translation.override(language):
        heading = f"<strong>{escape(_('Assessment result:'))}</strong> {escape(OUTCOME['confirmed'])}"
    assert heading in html
    assert "<strong>Fixed</strong> in 4.2.1" in html
    if language == "tr":
        assert "Assessment result:" not in html
    for raw in RAW:
        assert raw not in html


@pytest.mark.parametrize("language", ["en", "tr"])
def test_an_offer_action_reads_in_the_readers_language(client, world, number, language):
    world.offers["contoso-backup"].name = f"Backup {XSS}"
    world.offers["contoso-backup"].save(update_fields=["name"])
    triage.take_offer_action(
        world.actor("leo"), offer="contoso-backup", action="suspend", reason=f"Exploited\nin the wild {XSS}",
        review_date=date(2026, 12, 24), confirmation_number=number,
    )  # fmt: skip
    html = _page(client, world, "alice", f"/tickets/{number}/", language)
    with translation.override(language):
        said = _("The marketplace has suspended the offer %(offer)s: it is hidden from new purchases.")
        expected = escape(said % {"offer": f"Backup {XSS}"})
        reason = f"<strong>{escape(_('Reason:'))}</strong> Exploited<br>in the wild {escape(XSS)}"
    assert expected in html
    assert reason in html
    if language == "tr":
        assert "The marketplace has suspended" not in html
    for raw in RAW:
        assert raw not in html


def test_messages_written_before_get_their_kind_from_their_text(world, number):
    # The exact texts the services write (the migration parses them for messages from before it).
    triage.assess(
        world.actor("rita"),
        confirmation_number=number,
        outcome="needs_information",
        summary="Which build?\n\nAnd the logs.",
    )
    triage.take_offer_action(
        world.actor("leo"), offer="contoso-backup", action="suspend", reason="Exploited\nwidely",
        review_date=date(2026, 12, 24), confirmation_number=number,
    )  # fmt: skip
    triage.take_offer_action(
        world.actor("leo"), offer="contoso-backup", action="reinstate", reason="Fixed", confirmation_number=number
    )
    written = list(Message.objects.filter(from_marketplace=True).exclude(kind="").order_by("id"))
    assert [m.kind for m in written] == ["assessment", "offer_action", "offer_action"]
    for message in written:
        parse = backfill._assessment if message.kind == "assessment" else backfill._offer_action
        assert parse(message.body) == message.facts
    expected = {m.pk: (m.kind, m.facts) for m in written}
    Message.objects.update(kind="", facts={})  # as before the migration
    backfill.give_kinds(django_apps, None)
    assert {m.pk: (m.kind, m.facts) for m in Message.objects.exclude(kind="")} == expected
    assert backfill._assessment("Assessment result: something else") is None
    assert backfill._offer_action("The marketplace has suspended the offer X.\nNo reason line") is None


def test_the_api_gives_the_kind_and_facts(api, world, number):
    triage.assess(world.actor("rita"), confirmation_number=number, outcome="not_reproducible", summary="No crash.")
    thread = api("alice").get(f"/tickets/{number}/messages")
    assert thread.status_code == 200
    assessment = next(m for m in thread.json() if m["kind"] == "assessment")
    assert assessment["facts"] == {"outcome": "not_reproducible", "duplicate_of": None, "summary": "No crash."}
    assert assessment["body"].startswith("Assessment result: Not reproducible")
    written = api("alice").post(f"/tickets/{number}/messages", json={"body": "We see it on 4.2 too."})
    assert (written.json()["kind"], written.json()["facts"]) == ("", {})
