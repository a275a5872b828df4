from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "secdesk.marketplace"
    label = "marketplace"
    verbose_name = "Marketplace"
