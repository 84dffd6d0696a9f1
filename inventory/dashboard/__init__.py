"""The home page: the county at a glance (more arrives with norms and alerts)."""
