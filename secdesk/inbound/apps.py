from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "secdesk.inbound"
    label = "inbound"
    verbose_name = "Inbound e-mail"
