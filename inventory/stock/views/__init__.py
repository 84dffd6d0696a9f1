"""Stock pages: a site's stock, an item and its history, receive, issue, loans and returns,
transfers, adjustments, the ledger, and printable issue slips and transfer notes.

One blueprint (``stock.*`` endpoints), its routes in one module per kind of page.
"""

from inventory.stock.views import documents, items, transfers
from inventory.stock.views.common import blueprint

__all__ = ["blueprint", "documents", "items", "transfers"]
