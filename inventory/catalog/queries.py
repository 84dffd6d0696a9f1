"""The read side of the catalog."""

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from inventory.catalog.models import Category, Material
from inventory.db import db


def materials(*, category=None, q=None, include_inactive=True):
    """A select of materials by code; ``category`` matches it or its sub-categories."""
    query = sa.select(Material).join(Material.category).order_by(Material.code)
    if category:
        parent = aliased(Category)
        query = query.outerjoin(parent, Category.parent_id == parent.id).where(
            sa.or_(Category.code == category, parent.code == category))
    if q:
        query = query.where(sa.or_(Material.name.icontains(q, autoescape=True),
                                   Material.code.icontains(q, autoescape=True),
                                   Material.name_en.icontains(q, autoescape=True)))
    if not include_inactive:
        query = query.where(Material.active.is_(True))
    return query


def categories() -> list[Category]:
    """All categories, top level first, each followed by its sub-categories."""
    rows = db.session.scalars(sa.select(Category).order_by(Category.code)).all()
    top = [c for c in rows if c.parent_id is None]
    ordered = []
    for parent in top:
        ordered.append(parent)
        ordered.extend(c for c in rows if c.parent_id == parent.id)
    return ordered


def material_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Material)
                             .where(Material.active.is_(True)))
