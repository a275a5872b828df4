"""The dashboard's three indexes (``secdesk/triage/metrics.py``): acknowledgements by submission week,
remediation targets by due week, open tickets by status, severity and age — each query answered from its
index alone. Measured by ``bench/pages.py`` at 100,000 tickets (``bench/RESULTS.md``, "Page speed")."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0004_ticket_offer_queue_keys"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("submitted_at__isnull", False)),
                fields=["submitted_at", "acknowledged_at", "acknowledgement_due", "ack_breached_at", "status"],
                name="dashboard_ack",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("remediation_due__isnull", False)),
                fields=["remediation_due", "remediation_breached_at", "status", "close_reason"],
                name="dashboard_remediation",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["status", "severity", "submitted_at"], name="dashboard_open_age"),
        ),
    ]
