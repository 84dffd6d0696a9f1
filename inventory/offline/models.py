"""Devices and the offline operations held for a manager."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory import clock
from inventory.auth.models import User
from inventory.db import UTCDateTime, db
from inventory.sites.models import Site

# A device unused this long is expired: its token answers 401 until the keeper registers again.
DEVICE_IDLE_DAYS = 30
DEVICE_STATUS_NAMES = {"active": _l("使用中"), "expired": _l("已过期"), "revoked": _l("已注销"),
                       "lost": _l("已挂失")}
DEVICE_STATUSES = tuple(DEVICE_STATUS_NAMES)
SYNC_KIND_NAMES = {"receipt": _l("入库"), "issue": _l("发放"), "return": _l("归还"),
                   "transfer_receive": _l("调拨收货"), "count": _l("盘点清点"), "adjustment": _l("调整")}
SYNC_KINDS = tuple(SYNC_KIND_NAMES)
# Why an operation is held: the books had less than was handed out; its label exists nowhere;
# the keeper's rights changed after they recorded it; the phone was reported lost; a count was
# made against a snapshot the item has moved since.
CONFLICT_REASON_NAMES = {"stock_short": _l("账面库存不足"), "unknown_label": _l("标签不存在"),
                         "rights": _l("权限已变更"), "lost_device": _l("设备已挂失"),
                         "snapshot_moved": _l("清点后账面已变动")}
CONFLICT_REASONS = tuple(CONFLICT_REASON_NAMES)
CONFLICT_STATUS_NAMES = {"open": _l("待处理"), "applied": _l("已入账"), "rejected": _l("已驳回")}
CONFLICT_STATUSES = tuple(CONFLICT_STATUS_NAMES)


class Device(db.Model):
    """A keeper's phone, registered while online: its token is the bearer of the snapshot and
    sync requests, so hours offline expire nothing and no CSRF token is needed. Only the
    token's SHA-256 digest is kept."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Reported lost by an admin: wiped at its next contact, and what it sends is held for review.
    lost_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    @property
    def expires_at(self) -> dt.datetime:
        return self.last_used_at + dt.timedelta(days=DEVICE_IDLE_DAYS)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.lost_at is not None:
            return "lost"
        return "expired" if self.expires_at <= clock.now() else "active"


class SyncConflict(db.Model):
    """An operation recorded offline that the server could not apply as it stands, held for a
    manager: applied with a count correction, or rejected. Never dropped; the phone that sends
    its key again is told where it stands."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "key", name="uq_sync_conflicts_key"),
        sa.CheckConstraint(sa.text(f"kind IN {SYNC_KINDS}"), name="kind"),
        sa.CheckConstraint(sa.text(f"reason IN {CONFLICT_REASONS}"), name="reason"),
        sa.CheckConstraint(sa.text(f"status IN {CONFLICT_STATUSES}"), name="status"),
        sa.Index("ix_sync_conflicts_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="SET NULL"))
    # The site the operation took place at (its scope for the manager), when it could be told.
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[dict] = mapped_column(sa.JSON)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)   # on the phone
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    reason: Mapped[str] = mapped_column(sa.String(20))
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)     # the error the server gave
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id], lazy="joined")
    site: Mapped[Site | None] = relationship(lazy="joined")
    device: Mapped[Device | None] = relationship(lazy="joined")
