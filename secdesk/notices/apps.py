from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "secdesk.notices"
    label = "notices"
    verbose_name = "Notices"
