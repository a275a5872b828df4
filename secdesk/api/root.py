"""The API object: ``/api/v1/``, OpenAPI at ``/api/v1/openapi.json``, problem+json errors."""

from __future__ import annotations

from ninja import NinjaAPI

from secdesk.api import (
    audit,
    inbound,
    members,
    notices,
    offers,
    permissions,
    problems,
    queue,
    tickets,
    triage,
    webhooks,
)
from secdesk.api.auth import AUTH

api = NinjaAPI(
    title="secdesk API",
    version="1.0.0",
    description="Report security incidents and vulnerabilities in marketplace offers and follow them.",
    auth=AUTH,
    urls_namespace="api-1",
)
problems.install(api)
for module in (tickets, offers, triage, queue, notices, members, audit, inbound, webhooks):
    api.add_router("/", module.router)
permissions.publish(api)
