"""The change feed (API.md "Change feed"): one row per thing that happened, in the order it
happened, for the command platform to follow and for an incident's timeline."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory import clock
from inventory.auth.models import User
from inventory.db import UTCDateTime, db
from inventory.sites.models import Site


class Event(db.Model):
    """incident.opened, request.created, transfer.dispatched, …: appended in the transaction of
    what it reports, so the feed holds exactly what committed. Its id is the feed's cursor."""

    __tablename__ = "events"
    __table_args__ = (sa.Index("ix_events_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    type: Mapped[str] = mapped_column(sa.String(40), index=True)
    # What it is about, as the API addresses it: an id (incidents, requests, stocktakes) or a
    # document number (transfers, issues).
    ref: Mapped[str] = mapped_column(sa.String(40))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    site: Mapped[Site | None] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(lazy="joined")
