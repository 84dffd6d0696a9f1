"""Stock pages: a site's stock, an item and its history, receive, issue, loans and returns,
transfers, adjustments, the ledger, printable issue slips and transfer notes, and the issue
queue (发放队列).

One blueprint (``stock.*`` endpoints), its routes in one module per kind of page.
"""

from inventory.stock.views import documents, items, queue, transfers
from inventory.stock.views.common import blueprint

__all__ = ["blueprint", "documents", "items", "queue", "transfers"]
