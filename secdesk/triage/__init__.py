"""The marketplace side of a ticket: triage, clocks, requests to the publisher, offer actions."""
