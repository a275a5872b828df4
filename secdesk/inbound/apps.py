from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "secdesk.inbound"
    label = "inbound"
    verbose_name = "Inbound e-mail"

    def ready(self) -> None:
        from secdesk.inbound import checks  # noqa: F401 — registers the deployment check
