from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "secdesk.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
