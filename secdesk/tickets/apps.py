from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TicketsConfig(AppConfig):
    name = "secdesk.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from secdesk.tickets import offer_keys, search  # models must be loaded first

        # On SQLite a table rebuild by a later migration drops its triggers; put them back.
        post_migrate.connect(search.ensure_sqlite_index, sender=self)
        post_migrate.connect(offer_keys.ensure_sqlite_triggers, sender=self)
