"""Dispatch pages: screen (being written)."""
