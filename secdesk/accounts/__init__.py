"""Users, publisher organisations, memberships, roles and API tokens."""
