"""Customer notices: co-edited drafts with versions, approvals, audience and per-recipient delivery state."""
