"""Alerts and 三断 readiness: computed from balances every time, never stored (DESIGN.md §2)."""
