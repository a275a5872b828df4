"""secdesk — a self-hostable security event desk for software marketplaces."""

__version__ = "0.1.0"
