"""People: users and their API tokens (departments and roles build on these)."""
