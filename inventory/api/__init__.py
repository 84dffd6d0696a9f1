"""The JSON API at /api/v1 (API.md): bearer tokens, the error format, thin routes over services."""

from inventory.api import auth, materials, norms, openapi, sites, stock
from inventory.api.core import api

__all__ = ["api", "auth", "materials", "norms", "openapi", "sites", "stock"]
