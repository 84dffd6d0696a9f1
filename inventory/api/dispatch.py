"""API: dispatch (being written)."""
