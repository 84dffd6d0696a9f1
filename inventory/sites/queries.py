"""The read side of sites, always within what the user may see."""

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from inventory.auth.access import scope_condition
from inventory.db import db
from inventory.sites.models import Site


def visible_sites(user, *, kind=None, parent=None, q=None, include_inactive=True, details=True):
    """A select of the sites ``user`` may see, filtered, in tree order (parents before children);
    with their hazards and agreement unless ``details`` is false (pick lists need neither)."""
    query = sa.select(Site).order_by(Site.path)
    if details:
        query = query.options(selectinload(Site.hazard_tags), selectinload(Site.agreement))
    if (condition := scope_condition(user, Site.path)) is not None:
        query = query.where(condition)
    if kind:
        query = query.where(Site.kind == kind)
    if parent is not None:
        query = query.where(Site.parent_id == parent.id)
    if q:
        query = query.where(sa.or_(Site.name.icontains(q, autoescape=True),
                                   Site.code.icontains(q, autoescape=True)))
    if not include_inactive:
        query = query.where(Site.active.is_(True))
    return query


def children_of(site: Site) -> list[Site]:
    """Direct sub-sites, by code."""
    return list(db.session.scalars(sa.select(Site).where(Site.parent_id == site.id)
                                   .order_by(Site.code)))


def site_counts_by_kind(user) -> dict[str, int]:
    """How many active sites of each kind ``user`` can see."""
    query = sa.select(Site.kind, sa.func.count()).where(Site.active.is_(True)).group_by(Site.kind)
    if (condition := scope_condition(user, Site.path)) is not None:
        query = query.where(condition)
    return dict(db.session.execute(query).all())
