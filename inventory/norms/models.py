"""Norms: per site kind (and hazard), one or more acceptable materials, a floor and a per-person rate."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.catalog.models import Material
from inventory.db import db
from inventory.sites.models import HAZARDS, KINDS

# What a norm keeps a site able to do when roads, power and networks are cut (readiness §9.4).
# The code tuple is the keys of its display names.
READINESS_NAMES = {"comms": _l("通信"), "power": _l("电力"), "water": _l("饮用水"),
                   "food": _l("食品")}
READINESS_GROUPS = tuple(READINESS_NAMES)

norm_materials = sa.Table(
    "norm_materials",
    db.metadata,
    sa.Column("norm_id", sa.ForeignKey("norms.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("material_id", sa.ForeignKey("materials.id"), primary_key=True, index=True),
)


class Norm(db.Model):
    __tablename__ = "norms"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"site_kind IN {KINDS}"), name="site_kind"),
        sa.CheckConstraint(sa.text(f"hazard IS NULL OR hazard IN {HAZARDS}"), name="hazard"),
        sa.CheckConstraint(sa.text(f"readiness IS NULL OR readiness IN {READINESS_GROUPS}"),
                           name="readiness"),
        sa.CheckConstraint("min_quantity >= 0", name="min_quantity"),
        sa.CheckConstraint("per_person >= 0", name="per_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    site_kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    hazard: Mapped[str | None] = mapped_column(sa.String(20))
    min_quantity: Mapped[int] = mapped_column(default=0)
    # Units of the materials per planning person; exact decimals, never binary floats.
    per_person: Mapped[float] = mapped_column(sa.Numeric(12, 4, asdecimal=False), default=0)
    count_agreement_sites: Mapped[bool] = mapped_column(default=False)
    readiness: Mapped[str | None] = mapped_column(sa.String(10))
    basis: Mapped[str] = mapped_column(sa.String(500), default="")

    materials: Mapped[list[Material]] = relationship(secondary=norm_materials, lazy="selectin",
                                                     order_by="Material.code")
