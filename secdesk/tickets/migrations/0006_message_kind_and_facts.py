"""Messages the desk writes carry their ``kind`` and ``facts``, so each reader's page says them in the
reader's language (``Message`` docstring).

Messages written before this migration are given theirs from their text, which the desk wrote in a fixed
English form (``triage/services/assessment.py`` and ``offers.py`` as of ``tickets.0005``); a text that
does not match is left as it is (shown as written).
"""

import re

from django.db import migrations, models

# The outcome sentences and offer-action sentences as the desk wrote them (frozen here on purpose).
OUTCOMES = {
    "Confirmed: the issue is real and affects the offer.": "confirmed",
    "Not reproducible: we could not reproduce the issue.": "not_reproducible",
    "Not a security issue.": "not_a_security_issue",
    "Duplicate of another report.": "duplicate",
    "We need more information to assess the issue.": "needs_information",
}
OFFER_SENTENCE = re.compile(
    r"^The marketplace has (?P<done>suspended|delisted|reinstated) the offer (?P<offer>.+?)"
    r"(?:: it is hidden from new purchases)?\.$"
)
ACTIONS = {"suspended": "suspend", "delisted": "delist", "reinstated": "reinstate"}
REVIEW_DATE = re.compile(r"\nReview date: (\d{4}-\d{2}-\d{2})$")


def _assessment(body):
    head, _, summary = body.partition("\n\n")
    lines = head.split("\n")
    outcome = OUTCOMES.get(lines[0].removeprefix("Assessment result: "))
    if outcome is None or len(lines) > 2:
        return None
    duplicate_of = None
    if len(lines) == 2:
        if not lines[1].startswith("Original report: "):
            return None
        duplicate_of = lines[1].removeprefix("Original report: ")
    return {"outcome": outcome, "duplicate_of": duplicate_of, "summary": summary.strip()}


def _offer_action(body):
    first, _, rest = body.partition("\n")
    sentence = OFFER_SENTENCE.match(first)
    if sentence is None or not rest.startswith("Reason: "):
        return None
    reason = rest.removeprefix("Reason: ")
    review = REVIEW_DATE.search(reason)
    if review:
        reason = reason[: review.start()]
    return {
        "action": ACTIONS[sentence["done"]],
        "offer": sentence["offer"],
        "reason": reason,
        "review_date": review.group(1) if review else None,
    }


def give_kinds(apps, schema_editor):
    Message = apps.get_model("tickets", "Message")
    written = Message.objects.filter(from_marketplace=True, internal=False, kind="")
    for prefix, kind, parse in (
        ("Assessment result: ", "assessment", _assessment),
        ("The marketplace has ", "offer_action", _offer_action),
    ):
        for message in written.filter(body__startswith=prefix).iterator(chunk_size=500):
            facts = parse(message.body)
            if facts is not None:
                Message.objects.filter(pk=message.pk).update(kind=kind, facts=facts)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0005_dashboard_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="facts",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="message",
            name="kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "written by a person"),
                    ("assessment", "assessment result"),
                    ("offer_action", "offer action"),
                ],
                default="",
                max_length=32,
            ),
        ),
        migrations.RunPython(give_kinds, migrations.RunPython.noop),
    ]
