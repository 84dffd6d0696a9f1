"""Dispatch pages: requests (being written)."""
