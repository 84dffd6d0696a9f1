"""Categories (two levels) and materials."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.db import db

# The code tuple is the keys of its display names.
TRACKING_NAMES = {"lot": _l("按批次"), "serial": _l("按序列号（一物一码）")}
TRACKING = tuple(TRACKING_NAMES)
# Units are a short closed list in practice (the national catalog's); each has a name in every
# language the pages speak. A unit not listed shows as entered.
UNIT_NAMES = {"个": _l("个"), "件": _l("件"), "公斤": _l("公斤"), "具": _l("具"), "副": _l("副"),
              "包": _l("包"), "升": _l("升"), "双": _l("双"), "只": _l("只"), "台": _l("台"),
              "吨": _l("吨"), "套": _l("套"), "平方米": _l("平方米"), "床": _l("床"), "张": _l("张"),
              "把": _l("把"), "提": _l("提"), "支": _l("支"), "条": _l("条"), "架": _l("架"),
              "根": _l("根"), "桶": _l("桶"), "瓶": _l("瓶"), "盒": _l("盒"), "立方米": _l("立方米"),
              "箱": _l("箱"), "罐": _l("罐"), "艘": _l("艘"), "节": _l("节"), "袋": _l("袋"),
              "部": _l("部"), "顶": _l("顶"), "块": _l("块"), "盏": _l("盏"), "卷": _l("卷")}


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
    # 参考单价 (yuan): what a stocktake's variance is worth; exact decimals, never binary floats.
    unit_price: Mapped[float | None] = mapped_column(sa.Numeric(12, 2, asdecimal=False))
    active: Mapped[bool] = mapped_column(default=True)

    category: Mapped[Category] = relationship(lazy="joined", innerjoin=True)
