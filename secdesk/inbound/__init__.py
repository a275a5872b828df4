"""Inbound e-mail: replies by IMAP polling or LMTP, threaded onto tickets, or quarantined for staff."""
