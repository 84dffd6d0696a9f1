"""Incidents (灾情事件), the sites they touch, requests (需求申报) from those sites, the plans that
answer them, relief kits (救灾物资包) that turn people into needs, and road times between sites."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory import clock
from inventory.auth.models import User
from inventory.catalog.models import Material
from inventory.db import UTCDateTime, db
from inventory.sites.models import Site
from inventory.stock.models import Transfer

# Each code tuple is the keys of its display names.
TYPE_NAMES = {"earthquake": _l("地震"), "flood": _l("洪涝"), "debris_flow": _l("泥石流"),
              "fire": _l("火灾"), "chemical": _l("危化品事故"), "drought": _l("干旱"),
              "other": _l("其他")}
TYPES = tuple(TYPE_NAMES)
# 国家自然灾害救助应急响应: Ⅰ is the highest.
LEVEL_NAMES = {1: _l("Ⅰ级"), 2: _l("Ⅱ级"), 3: _l("Ⅲ级"), 4: _l("Ⅳ级")}
STATUS_NAMES = {"open": _l("处置中"), "closed": _l("已结束")}
STATUSES = tuple(STATUS_NAMES)
REQUEST_STATUS_NAMES = {"open": _l("待调度"), "planned": _l("已生成方案"), "approved": _l("已批准调拨"),
                        "cancelled": _l("已撤销")}
REQUEST_STATUSES = tuple(REQUEST_STATUS_NAMES)
# A request still waiting for goods: what the incident screen counts as open.
PENDING_REQUEST_STATUSES = ("open", "planned")
KIT_BASIS_NAMES = {"person": _l("每人"), "household": _l("每户")}
KIT_BASES = tuple(KIT_BASIS_NAMES)


class Incident(db.Model):
    """灾情事件: what happened, where, how bad; open while it is being handled."""

    __tablename__ = "incidents"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"type IN {TYPES}"), name="type"),
        sa.CheckConstraint("level BETWEEN 1 AND 4", name="level"),
        sa.CheckConstraint(sa.text(f"status IN {STATUSES}"), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[str] = mapped_column(sa.String(20))
    level: Mapped[int]
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(10), default="open", index=True)
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every edit: a form saved over someone else's newer edit is refused, not merged.
    version: Mapped[int] = mapped_column(default=1)

    created_by: Mapped[User | None] = relationship(lazy="joined")
    sites: Mapped[list["IncidentSite"]] = relationship(
        back_populates="incident", lazy="selectin", cascade="all, delete-orphan",
        order_by="IncidentSite.site_id")

    @property
    def areas(self) -> list["IncidentSite"]:
        return [entry for entry in self.sites if entry.affected]

    @property
    def cut_off_sites(self) -> list[Site]:
        return [entry.site for entry in self.sites if entry.cut_off]

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class IncidentSite(db.Model):
    """A site an incident touches: an affected area (with its people), cut off (断路), or both.

    A cut-off site can still ask for goods; no plan ever takes goods from it.
    """

    __tablename__ = "incident_sites"
    __table_args__ = (
        sa.CheckConstraint("affected_people >= 0 AND displaced_people >= 0", name="people"),
        sa.Index("ix_incident_sites_site", "site_id"),
    )

    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                                             primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), primary_key=True)
    affected: Mapped[bool] = mapped_column(default=True)
    cut_off: Mapped[bool] = mapped_column(default=False)
    affected_people: Mapped[int] = mapped_column(default=0)    # 受灾人口
    displaced_people: Mapped[int] = mapped_column(default=0)   # 紧急转移安置人数

    incident: Mapped[Incident] = relationship(back_populates="sites")
    site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)


class Request(db.Model):
    """需求申报: what an affected site asks for; a plan answers it, approval sends it."""

    __tablename__ = "dispatch_requests"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"status IN {REQUEST_STATUSES}"), name="status"),
        sa.Index("ix_dispatch_requests_incident_status", "incident_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"))
    to_site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    # The plan was made with sources taken below their own norm (the dispatcher said so).
    allow_below_norm: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    planned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Bumped by every plan, edit and state change: an approval of a plan someone re-made since
    # the page was drawn is refused.
    version: Mapped[int] = mapped_column(default=1)

    incident: Mapped[Incident] = relationship(lazy="joined", innerjoin=True)
    to_site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id], lazy="joined")
    lines: Mapped[list["RequestLine"]] = relationship(
        back_populates="request", lazy="selectin", cascade="all, delete-orphan",
        order_by="RequestLine.id")
    allocations: Mapped[list["Allocation"]] = relationship(
        back_populates="request", lazy="selectin", cascade="all, delete-orphan",
        order_by="Allocation.id")
    owner_approvals: Mapped[list["OwnerApproval"]] = relationship(
        back_populates="request", lazy="selectin", cascade="all, delete-orphan",
        order_by="OwnerApproval.id")


class RequestLine(db.Model):
    """A material and how many of it the site asks for."""

    __tablename__ = "dispatch_request_lines"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "material_id", name="uq_dispatch_request_lines_material"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("dispatch_requests.id", ondelete="CASCADE"))
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("materials.id"), index=True)
    quantity: Mapped[int]

    request: Mapped[Request] = relationship(back_populates="lines")
    material: Mapped[Material] = relationship(lazy="joined", innerjoin=True)


class Allocation(db.Model):
    """One line of a plan: so many of a material from one source site; after approval, the
    transfer that carries it."""

    __tablename__ = "dispatch_allocations"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("dispatch_requests.id", ondelete="CASCADE"),
                                            index=True)
    from_site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("materials.id"))
    # Whose goods: "bureau", or another level's pre-positioned stock (省级前置物资) used with
    # the owner's recorded approval.
    owner: Mapped[str] = mapped_column(sa.String(100), default="bureau")
    quantity: Mapped[int]
    distance_km: Mapped[float | None]
    minutes: Mapped[int | None]
    transfer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transfers.id"), index=True)

    request: Mapped[Request] = relationship(back_populates="allocations")
    from_site: Mapped[Site] = relationship(lazy="joined", innerjoin=True)
    material: Mapped[Material] = relationship(lazy="joined", innerjoin=True)
    transfer: Mapped[Transfer | None] = relationship(lazy="joined")


class OwnerApproval(db.Model):
    """The owner's consent to use their goods for this request (省级前置物资): who agreed,
    when, under which reference; recorded by the dispatcher before planning with them."""

    __tablename__ = "dispatch_owner_approvals"
    __table_args__ = (sa.UniqueConstraint("request_id", "owner", name="uq_dispatch_owner_approvals"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("dispatch_requests.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(sa.String(100))
    approved_by: Mapped[str] = mapped_column(sa.String(100))   # the owner's person, by name
    approved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reference: Mapped[str] = mapped_column(sa.String(100), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    request: Mapped[Request] = relationship(back_populates="owner_approvals")


class Kit(db.Model):
    """救灾物资包: what each displaced person (or household) needs; data the bureau edits."""

    __tablename__ = "kits"
    __table_args__ = (sa.CheckConstraint(sa.text(f"basis IN {KIT_BASES}"), name="basis"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    basis: Mapped[str] = mapped_column(sa.String(10), default="person")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)

    lines: Mapped[list["KitLine"]] = relationship(
        back_populates="kit", lazy="selectin", cascade="all, delete-orphan", order_by="KitLine.id")


class KitLine(db.Model):
    """So much of a material per person or household (0.34 tents, 9 L of water)."""

    __tablename__ = "kit_lines"
    __table_args__ = (
        sa.UniqueConstraint("kit_id", "material_id", name="uq_kit_lines_material"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kit_id: Mapped[int] = mapped_column(sa.ForeignKey("kits.id", ondelete="CASCADE"))
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("materials.id"))
    quantity: Mapped[float] = mapped_column(sa.Numeric(12, 4, asdecimal=False))

    kit: Mapped[Kit] = relationship(back_populates="lines")
    material: Mapped[Material] = relationship(lazy="joined", innerjoin=True)


class RoadTime(db.Model):
    """Travel minutes by truck between two sites (either way), or the road cut between them.

    When the table holds any pair, plans order sources by it; without it, by distance.
    """

    __tablename__ = "road_times"
    __table_args__ = (
        sa.CheckConstraint("from_site_id < to_site_id", name="ordered_pair"),
        sa.CheckConstraint("minutes IS NULL OR minutes >= 0", name="minutes"),
        sa.Index("ix_road_times_to", "to_site_id"),
    )

    from_site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"),
                                              primary_key=True)
    to_site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"),
                                            primary_key=True)
    minutes: Mapped[int | None]
    cut: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
