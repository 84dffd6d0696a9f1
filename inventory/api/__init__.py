"""The JSON API at /api/v1 (API.md): bearer tokens, the error format, thin routes over services."""

from inventory.api import alerts, auth, documents, materials, norms, openapi, sites, stock, stocktakes
from inventory.api.core import api

__all__ = ["alerts", "api", "auth", "documents", "materials", "norms", "openapi", "sites", "stock",
           "stocktakes"]
