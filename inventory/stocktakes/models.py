"""A stocktake, its lines (one per stock item it counts), the counts as they came, and found goods."""

import datetime as dt
import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory import clock
from inventory.auth.models import User
from inventory.catalog.models import Category, Material
from inventory.db import UTCDateTime, db
from inventory.sites.models import Site
from inventory.stock.models import StockItem

STATUS_NAMES = {"counting": _l("盘点中"), "review": _l("待审核"), "closed": _l("已完成"),
                "cancelled": _l("已撤销")}
STATUSES = tuple(STATUS_NAMES)
OPEN_STATUSES = ("counting", "review")
PERIOD = re.compile(r"(\d{4})-Q([1-4])")

stocktake_counters = sa.Table(
    "stocktake_counters",
    db.metadata,
    sa.Column("stocktake_id", sa.ForeignKey("stocktakes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True, index=True),
)

stocktake_categories = sa.Table(
    "stocktake_categories",
    db.metadata,
    sa.Column("stocktake_id", sa.ForeignKey("stocktakes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("category_id", sa.ForeignKey("categories.id"), primary_key=True),
)


def quarter_of(day: dt.date) -> str:
    """The period a day falls in: 2026-Q4."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


class Stocktake(db.Model):
    """盘点单 PD-…: one site (with its sub-sites, or some categories only) in one period."""

    __tablename__ = "stocktakes"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"status IN {STATUSES}"), name="status"),
        sa.Index("ix_stocktakes_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"))
    period: Mapped[str] = mapped_column(sa.String(7), index=True)
    include_sub_sites: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(10), default="counting")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    # 监盘人: watches the count and signs the sheet; when none is named, whoever approves.
    witness_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every state change, so two approvals (or an approval and a recount) of one
    # stocktake cannot both go through: the second finds the version moved.
    version: Mapped[int] = mapped_column(default=1)

    site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)
    witness: Mapped[User | None] = relationship(foreign_keys=[witness_id], lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id], lazy="joined")
    counters: Mapped[list[User]] = relationship(secondary=stocktake_counters, lazy="selectin",
                                                order_by="User.username")
    categories: Mapped[list[Category]] = relationship(secondary=stocktake_categories,
                                                      lazy="selectin", order_by="Category.code")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class StocktakeLine(db.Model):
    """One stock item to count: what the books held at opening, and the latest count of it."""

    __tablename__ = "stocktake_lines"
    __table_args__ = (
        sa.UniqueConstraint("stocktake_id", "item_id", name="uq_stocktake_lines_item"),
        sa.CheckConstraint("counted IS NULL OR counted >= 0", name="counted_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(sa.ForeignKey("stocktakes.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_items.id"), index=True)
    # The item's quantity when the stocktake opened (0 for an item that came since).
    snapshot: Mapped[int] = mapped_column(default=0)
    counted: Mapped[int | None]
    # The books when the count was made: the snapshot plus every movement until then. The
    # variance is the count against this, so what moved after the count is not undone.
    expected_at_count: Mapped[int | None]
    counted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    counted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Sent back by the reviewer: to count again (the counter sees which, still blind).
    recount: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    # What approval posted (None before it; 0 when the books were right).
    delta: Mapped[int | None]

    item: Mapped[StockItem] = relationship(lazy="joined", innerjoin=True)
    counted_by: Mapped[User | None] = relationship(lazy="joined")


class StocktakeCount(db.Model):
    """Every count as it was entered, kept: who counted what when (a line keeps the latest)."""

    __tablename__ = "stocktake_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(sa.ForeignKey("stocktake_lines.id", ondelete="CASCADE"),
                                         index=True)
    counted: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)


class FoundLine(db.Model):
    """盘盈: goods on the shelf with no label or not on the books; a stock item once approved."""

    __tablename__ = "stocktake_found"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(sa.ForeignKey("stocktakes.id", ondelete="CASCADE"),
                                              index=True)
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("materials.id"))
    quantity: Mapped[int]
    lot: Mapped[str | None] = mapped_column(sa.String(64))
    serial: Mapped[str | None] = mapped_column(sa.String(64))
    expiry_date: Mapped[dt.date | None]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_items.id"))

    material: Mapped[Material] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User | None] = relationship(lazy="joined")
    item: Mapped[StockItem | None] = relationship(lazy="joined")
