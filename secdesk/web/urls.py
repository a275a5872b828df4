"""Routes of the web portal, mounted at the site root (namespace ``web``).

Every view declares the permission it needs (``view.permission``), which the
route walk in ``tests/security/test_route_matrix.py`` holds it to.
"""

from __future__ import annotations

from django.urls import path

from secdesk.web import calculator, preferences, publisher
from secdesk.web.catalogue import urls as catalogue_urls
from secdesk.web.dashboard import urls as dashboard_urls
from secdesk.web.operations import urls as operations_urls
from secdesk.web.responder import urls as responder_urls

app_name = "web"

urlpatterns = [
    # The publisher's side: their organisation's tickets.
    path("tickets/", publisher.ticket_list, name="ticket_list"),
    path("tickets/new/", publisher.ticket_new, name="ticket_new"),
    path("tickets/<str:confirmation_number>/", publisher.ticket_detail, name="ticket_detail"),
    path("tickets/<str:confirmation_number>/edit/", publisher.ticket_edit, name="ticket_edit"),
    path("tickets/<str:confirmation_number>/submitted/", publisher.ticket_submitted, name="ticket_submitted"),
    path("tickets/<str:confirmation_number>/messages/", publisher.post_reply, name="ticket_reply"),
    path(
        "tickets/<str:confirmation_number>/requests/<str:request_id>/answer/",
        publisher.answer_request,
        name="request_answer",
    ),
    path("tickets/<str:confirmation_number>/notice/start/", publisher.notice_start, name="notice_start"),
    path("tickets/<str:confirmation_number>/notice/edit/", publisher.notice_edit, name="notice_edit"),
    path("tickets/<str:confirmation_number>/notice/approve/", publisher.notice_approve, name="notice_approve"),
    # The CVSS calculator of the request form (an HTML fragment; scores from secdesk.domain.cvss).
    path("cvss/score", calculator.cvss_score, name="cvss_score"),
    # One's own language and timezone (any signed-in person: on the route walk's allow-list).
    path("preferences/", preferences.preferences, name="preferences"),
    # The responders' side.
    *responder_urls.urlpatterns,
    *dashboard_urls.urlpatterns,
    *catalogue_urls.urlpatterns,
    *operations_urls.urlpatterns,
]
