"""Offers, their plans, customers and deployments (who runs what)."""
