"""The portal's main navigation shows each person exactly the pages whose door opens for them.

For every demo role plus a person in no organisation: each link in the menu
answers 200, and each page of the menu left out answers 403 — so the menu
neither hides a page someone may use nor offers one that refuses them.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.html import escape

from secdesk.accounts.models import User
from secdesk.web.navigation import LINKS

NAV = re.compile(r'<nav class="site-nav".*?</nav>', re.S)
HREF = re.compile(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>')


@pytest.fixture(autouse=True)
def _staff_without_totp(settings):
    settings.SECDESK_DEMO_RELAX_MFA = True  # these tests are about the menu, not the second factor


def _menu(client, path: str = "/preferences/") -> list[tuple[str, bool, str]]:
    response = client.get(path)
    assert response.status_code == 200
    [nav] = NAV.findall(response.content.decode())
    return [(href, bool(current), label) for href, current, label in HREF.findall(nav)]


EXPECTED = {
    # publisher admins: their tickets, a new request, their organisation's webhooks
    "alice": ["/tickets/", "/tickets/new/", "/operations/webhooks/"],
    "bob": ["/tickets/", "/tickets/new/", "/operations/webhooks/"],
    # responders and auditors read the queue, dashboard, offers, customers and quarantine
    "rita": ["/tickets/", "/queue/", "/dashboard/", "/offers/", "/customers/", "/operations/quarantine/"],
    "audrey": ["/tickets/", "/queue/", "/dashboard/", "/offers/", "/customers/", "/operations/quarantine/"],
    "leo": [
        "/tickets/", "/queue/", "/dashboard/", "/offers/", "/customers/",
        "/operations/quarantine/", "/operations/webhooks/",
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_menu_is_the_doors_that_open(client, world, name):
    client.force_login(world.users[name])
    shown = [href for href, _current, _label in _menu(client)]
    assert shown == EXPECTED[name]
    for href in _all_paths():
        status = client.get(href).status_code
        assert status == (200 if href in shown else 403), (name, href, status)


def _all_paths() -> list[str]:
    from django.urls import reverse

    return [reverse(url_name) for _key, url_name, _label in LINKS]


def test_someone_in_no_organisation_gets_no_page_links(client, world):
    stranger = User.objects.create_user("stranger@example.org", "a long enough passphrase 1")
    client.force_login(stranger)
    assert _menu(client) == []


def test_the_current_page_is_marked_and_labels_follow_the_language(client, world):
    client.force_login(world.users["leo"])
    marked = [(href, label) for href, current, label in _menu(client, "/offers/") if current]
    assert marked == [("/offers/", "Offers")]
    client.cookies["django_language"] = "tr"
    labels = [label for _href, _current, label in _menu(client, "/queue/")]
    with translation.override("tr"):
        turkish = [escape(str(label)) for key, _name, label in LINKS if key != "new"]
    with translation.override("en"):
        english = [escape(str(label)) for key, _name, label in LINKS if key != "new"]
    assert labels == turkish
    assert not set(labels) & set(english)  # every label is translated
    assert [href for href, current, _ in _menu(client, "/queue/") if current] == ["/queue/"]
