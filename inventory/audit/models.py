"""Audit log rows; written in the same transaction as the change they describe."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from inventory import clock
from inventory.db import UTCDateTime, db

# Each code tuple is the keys of its display names.
ACTION_NAMES = {"create": _l("新建"), "update": _l("修改"), "delete": _l("删除"),
                "password": _l("修改密码")}
ACTIONS = tuple(ACTION_NAMES)
ENTITY_NAMES = {"site": _l("站点"), "material": _l("物资"), "category": _l("类别"),
                "user": _l("用户"), "norm": _l("储备定额"), "kit": _l("救灾物资包"), "issue": _l("发放单"),
                "road_times": _l("道路通行时间"), "owner_approval": _l("所有者批准"),
                "device": _l("离线设备"), "sync_conflict": _l("待处理离线记录")}
ENTITIES = tuple(ENTITY_NAMES)


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
