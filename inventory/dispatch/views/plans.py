"""Dispatch pages: plans (being written)."""
