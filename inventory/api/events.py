"""API: events (being written)."""
