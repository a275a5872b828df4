from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "secdesk.accounts"
    label = "accounts"
    verbose_name = "Accounts"
