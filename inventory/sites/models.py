"""Sites in a tree (materialized path), their hazard tags and, for agreement sites, the agreement."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory import clock
from inventory.catalog.models import Material
from inventory.db import UTCDateTime, db

# Each code tuple is the keys of its display names.
KIND_NAMES = {
    "county_depot": _l("县级储备库"),
    "town_store": _l("乡镇储备室"),
    "village_point": _l("村级储备点"),
    "agreement_site": _l("协议代储点"),
}
KINDS = tuple(KIND_NAMES)
HAZARD_NAMES = {
    "three_outages": _l("易“三断”"),
    "earthquake": _l("地震"),
    "flood": _l("洪涝"),
    "debris_flow": _l("泥石流"),
    "fire": _l("火灾"),
    "chemical": _l("危化品"),
}
HAZARDS = tuple(HAZARD_NAMES)
STORAGE_NAMES = {"bureau_goods": _l("代储局方物资"), "partner_goods": _l("企业自有物资按约保有")}
AGREEMENT_STORAGE = tuple(STORAGE_NAMES)
# What the forms label each field and refusals call it; an agreement's fields as "agreement.…".
FIELD_NAMES = {
    "code": _l("站点编码"),
    "name": _l("名称"),
    "kind": _l("类型"),
    "parent": _l("上级站点"),
    "population": _l("人口"),
    "households": _l("户数"),
    "planning_population": _l("保障人口"),
    "latitude": _l("纬度"),
    "longitude": _l("经度"),
    "hazards": _l("灾害风险"),
    "address": _l("地址"),
    "keeper_name": _l("保管员"),
    "keeper_phone": _l("联系电话"),
    "active": _l("启用"),
    "agreement": _l("代储协议"),
    "agreement.partner": _l("协议单位"),
    "agreement.number": _l("协议编号"),
    "agreement.storage": _l("代储方式"),
    "agreement.valid_from": _l("生效日期"),
    "agreement.valid_to": _l("到期日期"),
    "agreement.last_verified": _l("最近核查日期"),
    "agreement.contact_name": _l("协议联系人"),
    "agreement.contact_phone": _l("协议联系电话"),
    "agreement.lines": _l("约定物资"),
}


class Site(db.Model):
    __tablename__ = "sites"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"kind IN {KINDS}"), name="kind"),
        # Subtree queries are prefix matches on path; text_pattern_ops lets PostgreSQL index them.
        sa.Index("ix_sites_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
        # The dispatch planner reads the sources inside a latitude/longitude box first
        # (dispatch/sources.py): a range on latitude, longitude checked in the index.
        sa.Index("ix_sites_coordinates", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    # "/1/4/17/": the ids from the root down to this site, so a subtree is "path LIKE '/1/4/%'".
    path: Mapped[str] = mapped_column(sa.String(255), default="")
    population: Mapped[int | None]
    households: Mapped[int | None]
    # What the bureau stated, if anything; planning_population is that or the derived figure.
    stated_planning_population: Mapped[int | None]
    planning_population: Mapped[int] = mapped_column(default=0)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    keeper_name: Mapped[str] = mapped_column(sa.String(50), default="")
    keeper_phone: Mapped[str] = mapped_column(sa.String(30), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    parent: Mapped["Site | None"] = relationship(remote_side=[id], lazy="joined")
    # Loaded when used: a stock item brings its site along on every ledger operation, and most of
    # those never look at hazards or agreements. Lists that show them ask for them (queries.py).
    hazard_tags: Mapped[list["SiteHazard"]] = relationship(
        cascade="all, delete-orphan", order_by="SiteHazard.hazard")
    agreement: Mapped["Agreement | None"] = relationship(
        cascade="all, delete-orphan", back_populates="site")

    @property
    def hazards(self) -> list[str]:
        return [tag.hazard for tag in self.hazard_tags]

    def within(self, other: "Site") -> bool:
        """True when this site is ``other`` or lies in its subtree."""
        return self.path.startswith(other.path)


class SiteHazard(db.Model):
    __tablename__ = "site_hazards"
    __table_args__ = (sa.CheckConstraint(sa.text(f"hazard IN {HAZARDS}"), name="hazard"),)

    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"),
                                         primary_key=True)
    hazard: Mapped[str] = mapped_column(sa.String(20), primary_key=True, index=True)


class Agreement(db.Model):
    """A 代储 agreement: the partner keeps bureau goods, or its own goods on call, for this site."""

    __tablename__ = "agreements"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"storage IN {AGREEMENT_STORAGE}"), name="storage"),
        sa.CheckConstraint("valid_to >= valid_from", name="valid_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), unique=True)
    partner: Mapped[str] = mapped_column(sa.String(100))
    number: Mapped[str] = mapped_column(sa.String(50))
    storage: Mapped[str] = mapped_column(sa.String(20), default="bureau_goods")
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date]
    last_verified: Mapped[dt.date | None]
    contact_name: Mapped[str] = mapped_column(sa.String(50), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(30), default="")

    site: Mapped[Site] = relationship(back_populates="agreement")
    lines: Mapped[list["AgreementLine"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="AgreementLine.id")


class AgreementLine(db.Model):
    """A material and the quantity the partner agreed to hold."""

    __tablename__ = "agreement_lines"
    __table_args__ = (
        sa.UniqueConstraint("agreement_id", "material_id", name="uq_agreement_lines_material"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreements.id", ondelete="CASCADE"))
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("materials.id"), index=True)
    quantity: Mapped[int]

    material: Mapped[Material] = relationship(lazy="joined")
