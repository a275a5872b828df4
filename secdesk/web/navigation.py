"""The portal's main navigation: a link is shown to whom its page's door opens.

Each link's condition is read from its view (the permission declared with
``accounts.views.requires``), not written a second time here, so the menu and
the doors cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from django.urls import resolve, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from secdesk.accounts.views import holds
from secdesk.domain.policy import Actor, Permission


@dataclass(frozen=True)
class Link:
    key: str  # the ``nav`` a page passes to mark its own link as current
    url: str
    label: Promise


#: In the order shown.
LINKS: Final = (
    ("tickets", "web:ticket_list", _("My tickets")),
    ("new", "web:ticket_new", _("Start request")),
    ("queue", "web:queue", _("Queue")),
    ("dashboard", "web:dashboard", _("Dashboard")),
    ("offers", "web:offer_list", _("Offers")),
    ("customers", "web:customer_list", _("Customers")),
    ("quarantine", "web:quarantine", _("Quarantine")),
    ("webhooks", "web:webhooks", _("Webhooks")),
)


@cache
def _door(url_name: str) -> tuple[str, Permission, bool]:
    """A route's path and the permission its view declares (routes do not change while the process runs)."""
    path = reverse(url_name)
    view = resolve(path).func
    return path, view.permission, getattr(view, "in_organization", False)  # type: ignore[attr-defined]  # set by requires


def links_for(actor: Actor) -> list[Link]:
    """The links ``actor`` may follow."""
    shown = []
    for key, url_name, label in LINKS:
        path, permission, in_organization = _door(url_name)
        if holds(actor, permission, in_organization=in_organization):
            shown.append(Link(key, path, label))
    return shown
