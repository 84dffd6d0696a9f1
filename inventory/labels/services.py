"""How many labels a receipt prints: one per box of a lot of countable things, else one."""

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from inventory.catalog.models import Material
from inventory.labels import pdf
from inventory.stock.models import Receipt, StockItem

# Units of weight, volume, length or area: a lot counted in these is not a number of boxes, so it
# gets one label, not one per kilogram.
MEASURED_UNITS = frozenset({"公斤", "千克", "克", "斤", "吨", "升", "毫升", "米", "厘米", "毫米", "千米",
                            "平方米", "立方米", "kg", "g", "t", "l", "ml", "m", "cm", "mm", "km", "m²",
                            "m³", "m2", "m3"})


def default_copies(material: Material, received: int, limit: int) -> int:
    """How many labels each item of a receipt gets unless a number is typed: one per unit for a
    lot of countable things (boxes, tents) of at most ``limit``; otherwise one (a serial item,
    a lot measured by weight or volume, a lot of more than ``limit``)."""
    if material.tracking == "lot" and material.unit.lower() not in MEASURED_UNITS and received <= limit:
        return received
    return 1


@dataclass(frozen=True)
class ReceiptCopies:
    """What the print form of a receipt offers: the copies per item, and why."""

    copies: int
    items: int
    limit: int
    label: str
    help: str
    cells: int = pdf.LAYOUTS["a4"].per_page


def receipt_copies(receipt: Receipt, items: list[StockItem]) -> ReceiptCopies:
    """The copies the receipt page's print form offers (labels/_receipt_print.html)."""
    limit = current_app.config["LABEL_COPIES_LIMIT"]
    material, unit = receipt.material, receipt.material.unit
    if material.tracking == "serial":
        return ReceiptCopies(1, len(items), limit, _("每件张数"),
                             _("一物一码，共 %(n)d 件，默认每件 1 张", n=len(items)))
    copies = default_copies(material, receipt.quantity, limit)
    if unit.lower() in MEASURED_UNITS:
        why = _("按%(unit)s计量，默认印 1 张；需要更多请填写（最多 %(limit)d 张）", unit=unit, limit=limit)
    elif copies == 1 and receipt.quantity > limit:
        why = _("共 %(n)d %(unit)s，超过每次 %(limit)d 张的上限，默认印 1 张；需要几张请填写",
                n=receipt.quantity, unit=unit, limit=limit)
    else:
        why = _("每%(unit)s一张，共 %(n)d %(unit)s", unit=unit, n=receipt.quantity)
    return ReceiptCopies(copies, len(items), limit, _("标签张数"), why)
