"""Seed data: the 高台县 demo (data files in data/, loaded through the services)."""
