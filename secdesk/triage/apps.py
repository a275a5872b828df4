from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "secdesk.triage"
    label = "triage"
    verbose_name = "Triage"
