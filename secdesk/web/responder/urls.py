"""Routes of this part of the portal, spliced into ``secdesk.web.urls`` (namespace ``web``).

The triage queue, a ticket's triage page, and one small POST route per step
taken from that page (each calls one service and comes back to the page).
"""

from __future__ import annotations

from django.urls import URLPattern, path

from secdesk.web.responder import actions, conversation, notices, queue, triage

_TICKET = "queue/<str:confirmation_number>/"

urlpatterns: list[URLPattern] = [
    path("queue/", queue.queue_page, name="queue"),
    path(_TICKET, triage.triage_page, name="triage"),
    path(f"{_TICKET}assign/", actions.assign, name="triage_assign"),
    path(f"{_TICKET}acknowledge/", actions.acknowledge, name="triage_acknowledge"),
    path(f"{_TICKET}classification/", actions.reclassify, name="triage_reclassify"),
    path(f"{_TICKET}assessment/", actions.assess, name="triage_assess"),
    path(f"{_TICKET}step/", actions.step, name="triage_step"),
    path(f"{_TICKET}messages/", conversation.reply, name="triage_reply"),
    path(f"{_TICKET}notes/", conversation.note, name="triage_note"),
    path(f"{_TICKET}requests/", conversation.create_request, name="triage_request"),
    path(
        f"{_TICKET}requests/<str:request_id>/extension/",
        conversation.decide_extension,
        name="triage_extension",
    ),
    path(f"{_TICKET}affected/", conversation.set_affected, name="triage_affected"),
    path(f"{_TICKET}notice/start/", notices.notice_start, name="triage_notice_start"),
    path(f"{_TICKET}notice/edit/", notices.notice_edit, name="triage_notice_edit"),
    path(f"{_TICKET}notice/approve/", notices.notice_approve, name="triage_notice_approve"),
    path(f"{_TICKET}notice/versions/", notices.notice_versions, name="triage_notice_versions"),
]
