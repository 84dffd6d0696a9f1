"""Stock items, movements (append-only), documents, document counters and idempotency records."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory import clock
from inventory.auth.models import User
from inventory.catalog.models import Material
from inventory.db import UTCDateTime, db
from inventory.sites.models import Site

# Each code tuple is the keys of its display names, so a code and its name cannot drift apart.
STATUS_NAMES = {"available": _l("在库"), "on_loan": _l("借出"), "in_transit": _l("在途"),
                "damaged": _l("损坏"), "disposed": _l("已处置")}
STATUSES = tuple(STATUS_NAMES)
SOURCE_NAMES = {"central": _l("中央财政"), "provincial": _l("省级财政"), "municipal": _l("市级财政"),
                "county": _l("县级财政"), "donation": _l("社会捐赠"), "purchase": _l("采购"),
                "opening": _l("期初"), "other": _l("其他")}
SOURCES = tuple(SOURCE_NAMES)
MOVEMENT_NAMES = {"receipt": _l("入库"), "issue": _l("发放"), "return": _l("归还"),
                  "transfer_out": _l("调出"), "transfer_in": _l("调入"), "adjustment": _l("调整"),
                  "writeoff": _l("报废"), "stocktake": _l("盘点")}
MOVEMENT_KINDS = tuple(MOVEMENT_NAMES)
RECIPIENT_NAMES = {"household": _l("受灾家庭"), "person": _l("个人"), "unit": _l("单位"),
                   "team": _l("救援队伍")}
RECIPIENT_TYPES = tuple(RECIPIENT_NAMES)
CONDITION_NAMES = {"good": _l("完好"), "damaged": _l("损坏"), "lost": _l("丢失")}
RETURN_CONDITIONS = tuple(CONDITION_NAMES)
TRANSFER_STATUS_NAMES = {"requested": _l("待发出"), "in_transit": _l("在途"),
                         "received": _l("已收货"), "cancelled": _l("已撤销")}
TRANSFER_STATUSES = tuple(TRANSFER_STATUS_NAMES)
REASON_NAMES = {"count_correction": _l("盘点更正"), "damaged": _l("损坏报废"),
                "expired": _l("过期报废"), "disposal": _l("处置"), "other": _l("其他")}
ADJUSTMENT_REASONS = tuple(REASON_NAMES)
TEST_RESULT_NAMES = {"ok": _l("正常"), "fault": _l("故障")}
TEST_RESULTS = tuple(TEST_RESULT_NAMES)
DOCUMENT_PREFIXES = {"receipt": "RK", "issue": "FF", "return": "GH", "transfer": "DB", "stocktake": "PD"}


class StockItem(db.Model):
    """What a QR label is stuck on: one material at one site, of one lot or one serial number."""

    __tablename__ = "stock_items"
    __table_args__ = (
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        sa.CheckConstraint("serial IS NULL OR quantity <= 1", name="serial_at_most_one"),
        sa.CheckConstraint(sa.text(f"status IN {STATUSES}"), name="status"),
        # One available (and one damaged) lot item per site, material, lot, expiry and owner:
        # receipts and returns add to it rather than scatter the same batch over many labels.
        sa.Index("uq_stock_items_lot", "site_id", "material_id", "merge_key", "status", unique=True,
                 sqlite_where=sa.text("serial IS NULL AND status IN ('available', 'damaged')"),
                 postgresql_where=sa.text("serial IS NULL AND status IN ('available', 'damaged')")),
        # A serial number is on the shelf in one place at most.
        sa.Index("uq_stock_items_serial", "material_id", "serial", unique=True,
                 sqlite_where=sa.text("serial IS NOT NULL AND quantity > 0"),
                 postgresql_where=sa.text("serial IS NOT NULL AND quantity > 0")),
        sa.Index("ix_stock_items_site_material", "site_id", "material_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(16), unique=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"))
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("materials.id"), index=True)
    lot: Mapped[str | None] = mapped_column(sa.String(64))
    serial: Mapped[str | None] = mapped_column(sa.String(64))
    production_date: Mapped[dt.date | None]
    expiry_date: Mapped[dt.date | None] = mapped_column(index=True)
    source: Mapped[str | None] = mapped_column(sa.String(20))
    donor: Mapped[str] = mapped_column(sa.String(100), default="")
    owner: Mapped[str] = mapped_column(sa.String(100), default="bureau")
    # lot|expiry|owner: what makes two receipts the same physical batch.
    merge_key: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(12), default="available")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Where a serial item went when a transfer re-labelled it at its destination.
    moved_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_items.id"))

    site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)
    material: Mapped[Material] = relationship(lazy="joined", innerjoin=True)
    moved_to: Mapped["StockItem | None"] = relationship(remote_side=[id])


class Movement(db.Model):
    """One change of one stock item's quantity or status. Never updated, never deleted."""

    __tablename__ = "movements"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"kind IN {MOVEMENT_KINDS}"), name="kind"),
        sa.CheckConstraint("balance_after >= 0", name="balance_not_negative"),
        sa.Index("ix_movements_item_id", "item_id", "id"),
        sa.Index("ix_movements_site_at", "site_id", "at"),
        sa.Index("ix_movements_material_at", "material_id", "at"),
        sa.Index("ix_movements_document", "document"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    kind: Mapped[str] = mapped_column(sa.String(14))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_items.id"))
    # Copied from the item so the ledger filters by site and material without a join.
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"))
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("materials.id"))
    quantity: Mapped[int]
    balance_after: Mapped[int]
    status_after: Mapped[str] = mapped_column(sa.String(12))
    document: Mapped[str | None] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # How the user came in and the request's idempotency key (inventory/attribution.py).
    credential: Mapped[str | None] = mapped_column(sa.String(40))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("movements.id"), unique=True)

    item: Mapped[StockItem] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User | None] = relationship(lazy="joined")


class DocumentCounter(db.Model):
    """The last number given out per document kind and year; gap-free because it rolls back too."""

    __tablename__ = "document_counters"

    prefix: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Receipt(db.Model):
    """入库单: goods arriving from a purchase, an upper level or a donation."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("materials.id"))
    quantity: Mapped[int]
    source: Mapped[str | None] = mapped_column(sa.String(20))
    donor: Mapped[str] = mapped_column(sa.String(100), default="")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)
    material: Mapped[Material] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User | None] = relationship(lazy="joined")


class Issue(db.Model):
    """发放单: stock handed to a recipient; returnable materials are loans."""

    __tablename__ = "issues"
    __table_args__ = (sa.CheckConstraint(sa.text(f"recipient_type IN {RECIPIENT_TYPES}"),
                                         name="recipient_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    recipient_type: Mapped[str] = mapped_column(sa.String(12))
    recipient_name: Mapped[str] = mapped_column(sa.String(100))
    recipient_contact: Mapped[str] = mapped_column(sa.String(50), default="")
    recipient_id_number: Mapped[str] = mapped_column(sa.String(30), default="")
    purpose: Mapped[str] = mapped_column(sa.String(500), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    # 冲销: a mistaken issue undone whole (stock/services.py reverse_issue). The issue and its
    # movements stay; from then on its lines owe nothing and no list counts them as loans.
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reversed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reversal_note: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    # Goods handed out for an incident (灾情事件), and counted in its report.
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    # 先发后补: handed out in a queue before the recipient's name and ID were taken; flagged
    # until someone completes them (audited).
    recipient_pending: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")
    reversed_by: Mapped[User | None] = relationship(foreign_keys=[reversed_by_id], lazy="joined")
    lines: Mapped[list["IssueLine"]] = relationship(back_populates="issue", lazy="selectin",
                                                    order_by="IssueLine.id")

    @property
    def has_returns(self) -> bool:
        """Whether anything of it came back, damaged or lost: then it can no longer be reversed."""
        return any(line.returned or line.damaged or line.lost for line in self.lines)


class IssueLine(db.Model):
    """One stock item handed out; for a loan, what came back and what is still out."""

    __tablename__ = "issue_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("returned + damaged + lost <= quantity", name="returns_within_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issues.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_items.id"), index=True)
    quantity: Mapped[int]
    is_loan: Mapped[bool] = mapped_column(default=False)
    due_date: Mapped[dt.date | None] = mapped_column(index=True)
    returned: Mapped[int] = mapped_column(default=0)
    damaged: Mapped[int] = mapped_column(default=0)
    lost: Mapped[int] = mapped_column(default=0)

    issue: Mapped[Issue] = relationship(back_populates="lines")
    item: Mapped[StockItem] = relationship(lazy="joined", innerjoin=True)

    @property
    def outstanding(self) -> int:
        """What is still out on loan: nothing for a line that is no loan or of a reversed issue."""
        if not self.is_loan or self.issue.reversed_at is not None:
            return 0
        return self.quantity - self.returned - self.damaged - self.lost


class Return(db.Model):
    """归还单: loaned goods coming back, in good order, damaged, or lost."""

    __tablename__ = "returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issues.id"), index=True)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    issue: Mapped[Issue] = relationship(lazy="joined", innerjoin=True)
    lines: Mapped[list["ReturnLine"]] = relationship(back_populates="document", lazy="selectin",
                                                     order_by="ReturnLine.id")


class ReturnLine(db.Model):
    __tablename__ = "return_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint(sa.text(f"condition IN {RETURN_CONDITIONS}"), name="condition"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(sa.ForeignKey("returns.id"), index=True)
    issue_line_id: Mapped[int] = mapped_column(sa.ForeignKey("issue_lines.id"), index=True)
    quantity: Mapped[int]
    condition: Mapped[str] = mapped_column(sa.String(10))
    # The item the goods went back into (None when lost).
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_items.id"))

    document: Mapped[Return] = relationship(back_populates="lines")
    issue_line: Mapped[IssueLine] = relationship(lazy="joined", innerjoin=True)
    item: Mapped[StockItem | None] = relationship(lazy="joined")


class Transfer(db.Model):
    """调拨单: requested → in_transit (stock has left) → received, or cancelled before dispatch."""

    __tablename__ = "transfers"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"status IN {TRANSFER_STATUSES}"), name="status"),
        sa.CheckConstraint("from_site_id <> to_site_id", name="different_sites"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    from_site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    to_site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default="requested", index=True)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    # Who carries it (printed on the 调拨单).
    driver_name: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")
    driver_phone: Mapped[str] = mapped_column(sa.String(30), default="", server_default="")
    vehicle: Mapped[str] = mapped_column(sa.String(30), default="", server_default="")

    from_site: Mapped[Site] = relationship(foreign_keys=[from_site_id], lazy="joined",
                                           innerjoin=True)
    to_site: Mapped[Site] = relationship(foreign_keys=[to_site_id], lazy="joined", innerjoin=True)
    created_by: Mapped[User | None] = relationship(lazy="joined")
    lines: Mapped[list["TransferLine"]] = relationship(back_populates="transfer", lazy="selectin",
                                                       order_by="TransferLine.id",
                                                       cascade="all, delete-orphan")


class TransferLine(db.Model):
    """A quantity of one material; from dispatch on, of one source item."""

    __tablename__ = "transfer_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("received IS NULL OR (received >= 0 AND received <= quantity)",
                           name="received_within_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(sa.ForeignKey("transfers.id"), index=True)
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("materials.id"))
    quantity: Mapped[int]
    from_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_items.id"), index=True)
    to_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_items.id"))
    received: Mapped[int | None]

    transfer: Mapped[Transfer] = relationship(back_populates="lines")
    material: Mapped[Material] = relationship(lazy="joined", innerjoin=True)
    from_item: Mapped[StockItem | None] = relationship(foreign_keys=[from_item_id], lazy="joined")
    to_item: Mapped[StockItem | None] = relationship(foreign_keys=[to_item_id], lazy="joined")

    @property
    def discrepancy(self) -> int | None:
        return None if self.received is None else self.quantity - self.received


class IdempotencyRecord(db.Model):
    """The first answer to a (user, Idempotency-Key), stored in the same transaction as its effect."""

    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_records_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(100))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)



class EquipmentTest(db.Model):
    """A test run of a piece of equipment (satellite phone dial test, generator run)."""

    __tablename__ = "equipment_tests"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"result IN {TEST_RESULTS}"), name="result"),
        sa.Index("ix_equipment_tests_item_tested_on", "item_id", "tested_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_items.id"))
    tested_on: Mapped[dt.date]
    result: Mapped[str] = mapped_column(sa.String(8))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    item: Mapped[StockItem] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User | None] = relationship(lazy="joined")
