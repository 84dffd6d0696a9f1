"""Audit log rows; written in the same transaction as the change they describe."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inventory import clock
from inventory.db import UTCDateTime, db


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity_key", "entity", "entity_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    # The username is copied so the entry still reads right if the account is renamed or removed.
    username: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(20))
    entity: Mapped[str] = mapped_column(sa.String(20))
    entity_key: Mapped[str] = mapped_column(sa.String(64))
    # {"field": [old, new]}, values as JSON scalars or lists.
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
