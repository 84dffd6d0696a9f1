"""Dispatch pages: incidents and their screen, requests (with the needs calculator), the plan a
dispatcher edits and approves, relief kits, road times, and the reports (page, PDF, Excel).

One blueprint (``dispatch.*`` endpoints), its routes in one module per kind of page.
"""

from inventory.dispatch.views import incidents, kits, plans, reports, requests, roads, screen
from inventory.dispatch.views.common import blueprint

__all__ = ["blueprint", "incidents", "kits", "plans", "reports", "requests", "roads", "screen"]
