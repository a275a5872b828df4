"""Routes of this part of the portal, spliced into ``secdesk.web.urls`` (namespace ``web``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from secdesk.web.catalogue import customers, offers

urlpatterns: list[URLPattern] = [
    path("offers/", offers.offer_list, name="offer_list"),
    path("offers/<slug:offer_slug>/", offers.offer_detail, name="offer_detail"),
    path("offers/<slug:offer_slug>/actions/", offers.offer_act, name="offer_act"),
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/<slug:customer_slug>/", customers.customer_detail, name="customer_detail"),
]
