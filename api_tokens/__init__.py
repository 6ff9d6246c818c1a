"""API tokens in the admin: revocable by staff, never shown (SPEC 18)."""
