"""The JSON API at /api/v1 (API.md): bearer tokens, the error format, thin routes over services."""

from inventory.api import (
    alerts,
    auth,
    dispatch,
    documents,
    events,
    imports,
    incident_reports,
    materials,
    norms,
    offline,
    openapi,
    sites,
    stock,
    stocktakes,
)
from inventory.api.core import api

__all__ = ["alerts", "api", "auth", "dispatch", "documents", "events", "imports", "incident_reports",
           "materials", "norms", "offline", "openapi", "sites", "stock", "stocktakes"]
