from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "secdesk.tickets"
    label = "tickets"
    verbose_name = "Tickets"
