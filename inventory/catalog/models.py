"""Categories (two levels) and materials."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.db import db

# The code tuple is the keys of its display names.
TRACKING_NAMES = {"lot": _l("按批次"), "serial": _l("按序列号（一物一码）")}
TRACKING = tuple(TRACKING_NAMES)


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"), index=True)

    parent: Mapped["Category | None"] = relationship(remote_side=[id], lazy="joined")

    @property
    def full_name(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent else self.name


class Material(db.Model):
    __tablename__ = "materials"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"tracking IN {TRACKING}"), name="tracking"),
        sa.CheckConstraint("shelf_life_days IS NULL OR shelf_life_days > 0", name="shelf_life"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100), default="")
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    unit: Mapped[str] = mapped_column(sa.String(10))
    spec: Mapped[str] = mapped_column(sa.String(200), default="")
    tracking: Mapped[str] = mapped_column(sa.String(10), default="lot")
    returnable: Mapped[bool] = mapped_column(default=False)
    shelf_life_days: Mapped[int | None]
    needs_testing: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    category: Mapped[Category] = relationship(lazy="joined", innerjoin=True)
