"""Stocktake pages: the list and opening one, counting on a phone (blind), the manager's review
and approval, and the paper (盘点表, 差异表) as print pages, PDF and Excel.

One blueprint (``stocktakes.*`` endpoints), its routes in one module per kind of page.
"""

from inventory.stocktakes.views import counting, review, sheets
from inventory.stocktakes.views.common import blueprint

__all__ = ["blueprint", "counting", "review", "sheets"]
