"""Tickets — the security events — with their messages, attachments and timeline."""
