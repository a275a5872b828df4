"""The responders' dashboard through Django's test client: who may see it, what it shows, its cost.

Charts are inline SVG with their data tables; the figures themselves are
checked in ``tests/integration/test_metrics.py``, the charts in
``tests/unit/test_charts.py``; the browser test (axe-core, CSP) is in
``tests/e2e/test_dashboard.py``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from secdesk.domain import confirmation
from secdesk.marketplace.models import Offer, OfferAction
from secdesk.tickets.models import Ticket
from secdesk.triage.metrics import OFFER_LIST_LIMIT

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"
SVG_BLOCK = re.compile(r"<svg\b.*?</svg>", re.S)


@pytest.fixture(autouse=True)
def _staff_without_totp(settings):
    settings.SECDESK_DEMO_RELAX_MFA = True  # the page is under test here, not the second factor


def fill(world: Any, count: int) -> None:
    """``count`` tickets over the last weeks, in every state the figures tell apart; offers under action."""
    now = timezone.now()
    statuses = ["submitted", "acknowledged", "assessing", "remediating", "resolved", "closed"]
    severities = ["critical", "high", "medium", "low", "none"]
    tickets = []
    for index in range(count):
        submitted = now - timedelta(days=index % 80, hours=index % 7)
        status = statuses[index % len(statuses)]
        acknowledged = submitted + timedelta(hours=1 + index % 30) if status != "submitted" else None
        tickets.append(
            Ticket(
                confirmation_number=confirmation.generate(),
                organization=world.orgs["contoso" if index % 2 else "fabrikam"],
                created_by=world.users["alice" if index % 2 else "bob"],
                category="vulnerability",
                status=status,
                severity="" if status == "submitted" else severities[index % len(severities)],
                submitted_at=submitted,
                acknowledgement_due=submitted + timedelta(days=1),
                acknowledged_at=acknowledged,
                close_reason="resolved" if status == "closed" else "",
                remediation_due=acknowledged + timedelta(days=7) if acknowledged else None,
                remediation_breached_at=acknowledged + timedelta(days=7) if acknowledged and index % 3 == 0 else None,
            )
        )
    Ticket.objects.bulk_create(tickets)
    org = world.orgs["contoso"]
    offers = Offer.objects.bulk_create(
        [
            Offer(organization=org, slug=f"under-action-{i:02d}", name=f"Offer {i} {XSS}", status="suspended")
            for i in range(OFFER_LIST_LIMIT + 2)
        ]
    )
    OfferAction.objects.bulk_create(
        [
            OfferAction(
                offer=offer,
                action="suspend",
                reason="r",
                previous_status="live",
                new_status="suspended",
                taken_by=world.users["leo"],
                taken_at=now - timedelta(days=i),
                review_date=(now + timedelta(days=10)).date(),
            )
            for i, offer in enumerate(offers)
        ]
    )


@pytest.mark.parametrize("name", ["audrey", "leo", "rita"])
def test_staff_see_the_dashboard(client, world, name):
    fill(world, 30)
    client.force_login(world.users[name])
    response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<link rel="stylesheet" href="/static/web/dashboard.css">' in html
    assert 'aria-current="page">Dashboard</a>' in html  # the navigation link, current
    svgs = SVG_BLOCK.findall(html)
    assert len(svgs) == 6
    for svg in svgs:
        root = ET.fromstring(svg)  # noqa: S314 — the page's own markup, parsed to check it is well-formed
        assert root.get("role") == "img"
        ident = root.get("aria-labelledby").split()[0].removesuffix("-title")
        assert f'id="{ident}-title"' in svg
        assert f'id="{ident}-desc"' in svg
    # Each chart is followed by its data as a table with a caption and headers.
    assert html.count("<details") == 6
    assert html.count('<caption id="chart-') == 6
    assert html.count('<th scope="row">') > 30
    assert re.search(r'\sstyle="', html) is None  # the CSP's style-src: no inline style
    assert "Open tickets" in html
    assert "Remediation targets met" in html


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_publishers_are_refused(client, world, name):
    client.force_login(world.users[name])
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert b"<svg" not in response.content


def test_the_navigation_link_is_for_staff_only(client, world):
    client.force_login(world.users["alice"])
    assert 'href="/dashboard/"' not in client.get("/tickets/").content.decode()
    client.force_login(world.users["rita"])
    assert 'href="/dashboard/"' in client.get("/tickets/").content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_page_costs_the_same_queries_with_many_tickets(client, world, django_assert_max_num_queries):
    client.force_login(world.users["rita"])
    with CaptureQueriesContext(connection) as empty:
        assert client.get("/dashboard/?weeks=26").status_code == 200
    fill(world, 300)
    with django_assert_max_num_queries(len(empty.captured_queries)):  # savepoints and SET LOCAL included
        response = client.get("/dashboard/?weeks=26")
    assert response.status_code == 200
    # The five figures' queries; the session, the signed-in user, and their memberships (read by the
    # permission check and again by the page's actor).
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "SET LOCAL")  # PostgreSQL's work_mem for the figures' transaction
    assert len([q for q in empty.captured_queries if not q["sql"].startswith(control)]) <= 9


def test_offer_names_are_escaped_and_the_list_is_bounded(client, world):
    fill(world, 10)
    client.force_login(world.users["leo"])
    html = client.get("/dashboard/").content.decode()
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('href="/offers/under-action-') == OFFER_LIST_LIMIT
    assert f"{OFFER_LIST_LIMIT + 2} offers under action" in html


@pytest.mark.parametrize("weeks", ["-4", "0", "13", "4.0", "abc", "26%00"])
def test_a_period_not_offered_is_a_400_with_the_field_message(client, world, weeks):
    client.force_login(world.users["rita"])
    response = client.get("/dashboard/", {"weeks": weeks})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-describedby="err-weeks"' in html
    assert 'aria-invalid="true"' in html
    message = re.search(r'<div class="field-error" id="err-weeks"><p>([^<]+)</p>', html)
    assert message is not None
    assert "4, 12, 26" in message.group(1)
    assert "<svg" not in html


@pytest.mark.parametrize("weeks", ["12", "26", "4"])
def test_each_offered_period(client, world, weeks):
    fill(world, 20)
    client.force_login(world.users["rita"])
    response = client.get("/dashboard/", {"weeks": weeks})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{weeks}" selected>' in html
    assert html.count("(so far)") == 3  # the current week, in the three week-by-week tables


def test_numbers_and_dates_in_the_readers_language(client, world):
    now = timezone.now()
    for index in range(3):  # acknowledged after 1.5 h each: the median reads 1.6 h (the middle of its bin)
        submitted = now - timedelta(days=2, minutes=index)
        Ticket.objects.create(
            confirmation_number=confirmation.generate(), organization=world.orgs["contoso"],
            created_by=world.users["alice"], category="vulnerability", status="acknowledged", severity="high",
            submitted_at=submitted, acknowledgement_due=submitted + timedelta(days=1),
            acknowledged_at=submitted + timedelta(hours=1.5),
        )  # fmt: skip
    rita = world.users["rita"]
    client.force_login(rita)
    assert "1.6 h" in client.get("/dashboard/").content.decode()
    rita.language = "tr"
    rita.timezone = "Europe/Istanbul"
    rita.save(update_fields=["language", "timezone"])
    html = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert '<html lang="tr">' in html
    assert "1,6" in html  # a decimal comma
    assert "1.6 h" not in html
    assert "Europe/Istanbul" in html


def test_a_second_reader_within_the_minute_gets_the_figures_computed_for_the_first(client, world, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    fill(world, 12)
    client.force_login(world.users["rita"])
    with CaptureQueriesContext(connection) as first:
        computed = client.get("/dashboard/?weeks=12").content.decode()
    # Every ticket closed: not seen until the figures are computed again.
    Ticket.objects.exclude(status="closed").update(status="closed", close_reason="resolved")
    client.force_login(world.users["audrey"])
    with CaptureQueriesContext(connection) as second:
        shared = client.get("/dashboard/?weeks=12").content.decode()
    on_tickets = [q["sql"] for q in second.captured_queries if '"tickets_ticket"' in q["sql"]]
    assert on_tickets == []
    assert len(second.captured_queries) < len(first.captured_queries)
    as_of = re.compile(r'<p class="muted dashboard-asof">(.*?)</p>', re.S)
    assert as_of.findall(shared) == as_of.findall(computed) != []
    tiles = re.compile(r'<dl class="tiles">.*?</dl>', re.S)
    assert tiles.findall(shared) == tiles.findall(computed) != []
