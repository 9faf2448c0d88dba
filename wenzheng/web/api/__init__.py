"""The JSON API under /api/v1, for machine clients (bearer tokens) and console scripts (cookie + CSRF)."""
