"""Dispatch pages: reports (being written)."""
