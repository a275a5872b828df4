"""The ``secdesk`` command: server administration and an API client."""
