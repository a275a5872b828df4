"""The responders' pages: the triage queue and a ticket's triage page with its actions."""
