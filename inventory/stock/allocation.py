"""Allocation: which items a document's lines take, first expiry first out, locked in id order.

Issues and transfers name stock the same two ways, by one scanned label or by a material, and
take it the same way; stocktakes and dispatch plans will too.
"""

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import clock
from inventory.auth.access import can
from inventory.catalog.models import Material
from inventory.db import db
from inventory.errors import InsufficientStock, InvalidState, ValidationError
from inventory.labels.codes import format_label, normalize_label
from inventory.sites.models import Site
from inventory.stock import ledger
from inventory.stock.models import STATUS_NAMES, StockItem

# A line's item: its site is the document's (checked by the caller), already loaded.
_ITEM_BY_LABEL = sa.select(StockItem).where(StockItem.label == sa.bindparam("label")).options(
    sa.orm.lazyload(StockItem.site))


def refuse_expired(item: StockItem) -> None:
    """Raise InvalidState when ``item`` has expired: it leaves only by write-off, never by an
    issue or a transfer (moving it would only have it written off elsewhere)."""
    if item.expiry_date is not None and item.expiry_date < clock.today():
        raise InvalidState(_("标签 %(label)s 已于 %(date)s 过期，只能报废，不能发放或调拨",
                             label=format_label(item.label), date=item.expiry_date))


# The order a material line takes items in: first expiry first out, undated goods last.
FIRST_EXPIRY_FIRST = (StockItem.expiry_date.is_(None), StockItem.expiry_date, StockItem.received_at,
                      StockItem.id)


def usable_items(today):
    """The conditions of items that may go out (or count as on hand for a plan): available,
    something in them, not expired."""
    return (StockItem.status == "available", StockItem.quantity > 0,
            sa.or_(StockItem.expiry_date.is_(None), StockItem.expiry_date >= today))


def available_for_issue(site: Site, material: Material):
    """Items a material line may take, first expiry first out, never expired."""
    return (sa.select(StockItem).options(sa.orm.lazyload(StockItem.site))  # the site is known
            .where(StockItem.site_id == site.id, StockItem.material_id == material.id,
                   *usable_items(clock.today()))
            .order_by(*FIRST_EXPIRY_FIRST))


def resolve_lines(lines, site: Site, *, actor, field="lines"):
    """Name each line's item (label) or candidate items (material); raise on unknown ones.

    A label of a site the actor may not see is as unknown as one that does not exist (S13).

    Each line comes back as (line, material, items): the named item, or the candidates in the
    order a material line takes them.
    """
    resolved, errors = [], {}
    for index, line in enumerate(lines):
        where = f"{field}.{index}"
        if ("label" in line) == ("material" in line):
            errors[where] = _("每行须且只能填写标签或物资编码之一")
            continue
        if "label" in line:
            item = db.session.scalar(_ITEM_BY_LABEL, {"label": normalize_label(line["label"])})
            elsewhere = item is not None and item.site_id != site.id
            if item is None or elsewhere and not can(actor, "stock.view", item.site):
                errors[f"{where}.label"] = _("标签 %(label)s 不存在", label=line["label"])
            elif elsewhere:
                errors[f"{where}.label"] = _("标签 %(label)s 不在 %(site)s", label=line["label"],
                                             site=site.name)
            else:
                resolved.append((line, item.material, [item]))
            continue
        material = db.session.scalar(sa.select(Material).where(Material.code == line["material"]))
        if material is None:
            errors[f"{where}.material"] = _("物资 %(code)s 不存在", code=line["material"])
            continue
        resolved.append((line, material, list(db.session.scalars(
            available_for_issue(site, material)))))
    if errors:
        raise ValidationError(errors)
    return resolved


def allocate(resolved, *, allow_damaged=False) -> list[tuple[dict, StockItem, int]]:
    """Lock every candidate item in id order, then give each line its items and quantities.

    Raise InvalidState for a named item that cannot go, InsufficientStock listing every short line.
    """
    ledger.lock(item for _line, _material, items in resolved for item in items)
    remaining = {item.id: item.quantity for _line, _material, items in resolved for item in items}
    allocations, short = [], []
    for index, (line, _material, items) in enumerate(resolved):
        wanted = line["quantity"]
        if "label" in line:
            item = items[0]
            allowed = ("available", "damaged") if allow_damaged else ("available",)
            if item.status not in allowed:
                raise InvalidState(_("标签 %(label)s 的状态是“%(status)s”，不能出库",
                                     label=format_label(item.label),
                                     status=STATUS_NAMES[item.status]))
            refuse_expired(item)  # damaged goods may go for repair; expired ones may not
        taken = []
        for item in items:
            share = min(wanted - sum(q for _item, q in taken), remaining[item.id])
            if share > 0:
                taken.append((item, share))
                remaining[item.id] -= share
        got = sum(q for _item, q in taken)
        if got < wanted:
            short.append({"line": index, "requested": wanted, "available": got})
        allocations.extend((line, item, q) for item, q in taken)
    if short:
        raise InsufficientStock(_("库存不足，没有任何改动"), details=short)
    return allocations
