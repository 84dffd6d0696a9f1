"""What every stocktake page shares: the blueprint and finding the stocktake a URL names."""

from flask import Blueprint
from flask_login import current_user

from inventory.stocktakes import services

blueprint = Blueprint("stocktakes", __name__, url_prefix="/stocktakes")


def stocktake_or_404(stocktake_id: int):
    """The stocktake of the URL if the user may see its site (a 404 page otherwise)."""
    return services.visible_stocktake(current_user, stocktake_id)
