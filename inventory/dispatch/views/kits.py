"""Dispatch pages: kits (being written)."""
