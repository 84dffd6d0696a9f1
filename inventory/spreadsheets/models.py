"""An import: one uploaded spreadsheet, checked whole, then committed all or nothing."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory import clock
from inventory.auth.models import User
from inventory.db import UTCDateTime, db

IMPORT_KIND_NAMES = {"opening_stock": _l("期初库存")}
IMPORT_KINDS = tuple(IMPORT_KIND_NAMES)
# checking → ready | invalid; ready → committing → done | failed; ready | invalid → cancelled.
IMPORT_STATUS_NAMES = {"checking": _l("检查中"), "ready": _l("可导入"), "invalid": _l("有错误"),
                       "committing": _l("导入中"), "done": _l("已导入"), "failed": _l("导入失败"),
                       "cancelled": _l("已取消")}
IMPORT_STATUSES = tuple(IMPORT_STATUS_NAMES)
# The problems kept for the preview and the API; past these only the count grows (the
# annotated copy of the file marks them all).
KEPT_ERRORS = 1000


class ImportJob(db.Model):
    """The file itself is kept in the row: a job survives a restart of the web worker and runs
    on any app server or worker process, with no shared disk."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    digest: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(12), default="checking")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)
    error_count: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(IMPORT_KINDS), name="kind"),
        sa.CheckConstraint(sa.column("status").in_(IMPORT_STATUSES), name="status"),
    )
