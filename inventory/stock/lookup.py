"""What the stock actions look up: the site, material or item a document names.

Apart from the actions themselves so that each module of them (services.py, issues.py,
transfers.py) and the features that build on them find a document's site the same way.
"""

import contextlib

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.auth.access import authorize_or_hide
from inventory.catalog.models import Material
from inventory.db import db
from inventory.errors import NotFound, ValidationError
from inventory.labels.codes import normalize_label
from inventory.sites.models import Site
from inventory.stock.models import StockItem

# A document's site: what it needs is the site's path and code, not its parent.
_SITE_BY_CODE = sa.select(Site).where(Site.code == sa.bindparam("code")).options(
    sa.orm.lazyload(Site.parent))
# A scanned item with its site (for the scope check and the answer), not the site's parent.
_SCANNED_ITEM = sa.select(StockItem).where(StockItem.label == sa.bindparam("label")).options(
    sa.orm.defaultload(StockItem.site).lazyload(Site.parent))


def site_for(code: str, field: str) -> Site:
    """The site a document names in ``field``; an unknown code is that field's error."""
    site = db.session.scalar(_SITE_BY_CODE, {"code": code})
    if site is None:
        raise ValidationError({field: _("站点 %(code)s 不存在", code=code)})
    return site


def material_for(code: str, field: str) -> Material:
    """The material a document names in ``field``; an unknown code is that field's error."""
    material = db.session.scalar(sa.select(Material).where(Material.code == code))
    if material is None:
        raise ValidationError({field: _("物资 %(code)s 不存在", code=code)})
    return material


def get_item(label: str) -> StockItem:
    """The stock item with this label; raise NotFound."""
    item = db.session.scalar(_SCANNED_ITEM, {"label": normalize_label(label)})
    if item is None:
        raise NotFound(_("标签 %(label)s 不存在", label=label))
    return item


def visible_item(actor, label: str) -> StockItem:
    """The item of ``label`` if ``actor`` may see its site; raise NotFound otherwise.

    A label of a site they may not see is refused exactly as one that does not exist, in status
    and message alike (QUALITY.md S13): labels are 80 random bits, and which of them exist is
    not for an outsider to learn. The refusal is still logged as a denial.
    """
    item = db.session.scalar(_SCANNED_ITEM, {"label": normalize_label(label)})
    if item is not None:
        with contextlib.suppress(NotFound):
            authorize_or_hide(actor, "stock.view", item.site)
            return item
    raise NotFound(_("标签 %(label)s 不存在", label=label))


def item_for(actor, label: str, field: str) -> StockItem:
    """visible_item for a form's field: an unknown (or unseen) label is that field's error."""
    try:
        return visible_item(actor, label)
    except NotFound as unknown:
        raise ValidationError({field: unknown.message}) from None
