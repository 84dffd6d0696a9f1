"""Reading the change feed: what happened after a cursor, as far as the reader may see, and an
incident's timeline.

The cursor is the event's id, so a page of the feed is a range scan of the primary key from the
cursor on, however long the feed has grown.
"""

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from inventory.auth.access import PERMISSIONS, scope_condition
from inventory.db import db
from inventory.feed.models import Event
from inventory.sites.models import Site

MAX_LIMIT = 1000


def _visible(query, user):
    """``query`` (of events, sites outer-joined) limited to what ``user`` may see: an event of a
    site when they may view dispatch there, one of no site (an incident opened) when they may
    view incidents at all."""
    if user is None or not getattr(user, "is_authenticated", False) \
            or user.role not in PERMISSIONS["dispatch.view"]:
        return query.where(sa.false())
    if (condition := scope_condition(user, Site.path)) is not None:
        query = query.where(sa.or_(Event.site_id.is_(None), condition))
    return query


def events(user, *, after: int = 0, types=None, limit: int = 100) -> tuple[list[Event], int]:
    """Events after the cursor ``after`` that ``user`` may see, oldest first, at most ``limit``
    (of ``types`` only, when any are given); and the cursor to ask from next: the last one's id, or
    ``after`` again when there was none."""
    found = list(db.session.scalars(events_query(user, after=after, types=types, limit=limit)).unique())
    return found, found[-1].id if found else after


def events_query(user, *, after: int = 0, types=None, limit: int = 100):
    """The select behind ``events``: a range of the primary key from ``after`` on."""
    query = (sa.select(Event).outerjoin(Event.site).options(contains_eager(Event.site))
             .where(Event.id > after).order_by(Event.id).limit(max(1, min(limit, MAX_LIMIT))))
    if types:
        query = query.where(Event.type.in_(list(types)))
    return _visible(query, user)


def timeline_count(incident, user) -> int:
    """How many of the incident's events ``user`` may see."""
    query = _visible(sa.select(sa.func.count()).select_from(Event).outerjoin(Event.site)
                     .where(Event.incident_id == getattr(incident, "id", incident)), user)
    return db.session.scalar(query)


def timeline(incident, user=None, *, latest: int | None = None) -> list[Event]:
    """The events of ``incident`` in the order they happened, with who did it: all of them, or
    with ``user`` those they may see, and with ``latest`` only that many of the newest (an
    incident's screen refreshes often, and a disaster's queue issues are thousands of events)."""
    incident_id = getattr(incident, "id", incident)
    query = sa.select(Event).where(Event.incident_id == incident_id)
    if user is not None:
        query = _visible(query.outerjoin(Event.site).options(contains_eager(Event.site)), user)
    if latest is not None:
        # Newest first over ix_events_incident (incident_id, id), then back in order.
        return list(db.session.scalars(query.order_by(Event.id.desc()).limit(latest)))[::-1]
    return list(db.session.scalars(query.order_by(Event.id)))
