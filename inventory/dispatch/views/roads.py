"""Dispatch pages: roads (being written)."""
