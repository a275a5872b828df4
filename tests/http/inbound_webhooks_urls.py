"""URLs for the inbound-quarantine and webhook API tests, until the routers join ``secdesk.api.root``.

Once ``secdesk/api/root.py`` registers them, this is simply the desk's own URLconf.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI

from secdesk import urls as desk_urls
from secdesk.api import inbound, permissions, problems, webhooks
from secdesk.api.auth import AUTH
from secdesk.api.root import api as desk_api

registered = {id(router) for _prefix, router in desk_api._routers}
urlpatterns: list[URLPattern | URLResolver]
if id(inbound.router) in registered and id(webhooks.router) in registered:
    urlpatterns = list(desk_urls.urlpatterns)
else:
    api = NinjaAPI(title="secdesk API (test)", version="test", auth=AUTH, urls_namespace="api-1")
    problems.install(api)
    for module in (inbound, webhooks):
        api.add_router("/", module.router)
    permissions.publish(api)
    urlpatterns = [path("api/v1/", api.urls)]
