"""The only writers of the marketplace side of a ticket.

Every function takes ``actor`` first and the rest by keyword, runs in one
transaction, authorises through the policy, locks the ticket row (and the
offer or request row it changes), applies a domain decision, appends the
timeline event in the same transaction and queues side effects on commit.
"""

from secdesk.triage.services.assessment import assess, transition, withdraw
from secdesk.triage.services.breaches import SweepReport, sweep
from secdesk.triage.services.classification import (
    acknowledge,
    assign,
    reclassify,
    set_affected,
)
from secdesk.triage.services.offers import take_offer_action
from secdesk.triage.services.requests import answer_request, create_request, decide_extension

__all__ = [
    "SweepReport",
    "acknowledge",
    "answer_request",
    "assess",
    "assign",
    "create_request",
    "decide_extension",
    "reclassify",
    "set_affected",
    "sweep",
    "take_offer_action",
    "transition",
    "withdraw",
]
