"""Running the desk: inbound mail quarantine and webhook endpoints."""
