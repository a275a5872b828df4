"""Customer notices (models are added by the notices work)."""
