"""Webhooks: signed event deliveries to publishers' and the marketplace's HTTPS endpoints."""
