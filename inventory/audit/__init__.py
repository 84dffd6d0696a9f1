"""The audit log of master-data changes: who changed what, when, from where, old → new."""
