"""API: incident_reports (being written)."""
