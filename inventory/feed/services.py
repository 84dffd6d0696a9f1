"""Appending to the change feed: called inside the unit of work of what it reports, so an event
commits with its effect or not at all (and a retried request appends it once, as it applies once)."""

from inventory.db import db
from inventory.feed.models import Event


def record(type_: str, ref, *, site=None, incident=None, actor=None, data: dict | None = None) -> None:
    """Append ``type_`` (incident.opened, transfer.dispatched, …) about ``ref`` (an id or a number)."""
    db.session.add(Event(type=type_, ref=str(ref), site_id=getattr(site, "id", site),
                         incident_id=getattr(incident, "id", incident),
                         user_id=getattr(actor, "id", None), data=data or {}))
