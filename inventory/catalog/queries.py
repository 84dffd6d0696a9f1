"""The read side of the catalog."""

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from inventory.catalog.models import Category, Material
from inventory.db import db


def materials_of_lines(lines, field: str = "lines") -> tuple[dict[str, Material], dict[str, str]]:
    """The materials ``lines`` name by code (one line per material: a request, a kit), and the
    errors of the lines that name an unknown material or one an earlier line named."""
    codes = [line["material"] for line in lines]
    found = {material.code: material for material in db.session.scalars(
        sa.select(Material).where(Material.code.in_(codes)))} if codes else {}
    errors, seen = {}, set()
    for index, code in enumerate(codes):
        if code not in found:
            errors[f"{field}.{index}.material"] = _("物资 %(code)s 不存在", code=code)
        elif code in seen:
            errors[f"{field}.{index}.material"] = _("同一物资只能填写一行")
        seen.add(code)
    return found, errors


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
