"""Where a ticket's marketplace page is: the responders' triage page, ``/queue/<confirmation number>/``."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

TRIAGE_ROUTE = "web:triage"


def triage_url(confirmation_number: str) -> str:
    """The triage page of a ticket; its literal address while that page's route is not mounted."""
    try:
        return reverse(TRIAGE_ROUTE, kwargs={"confirmation_number": confirmation_number})
    except NoReverseMatch:
        return f"/queue/{confirmation_number}/"
