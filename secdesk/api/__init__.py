"""The REST API (django-ninja): thin adapters over services and selectors."""
