"""Reading the audit log."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from inventory.audit.models import AuditEntry
from inventory.db import db

ACTION_NAMES = {"create": _l("新建"), "update": _l("修改"), "delete": _l("删除"),
                "password": _l("修改密码")}
ENTITY_NAMES = {"site": _l("站点"), "material": _l("物资"), "category": _l("类别"),
                "user": _l("用户")}


def audit_entries(*, entity=None, key=None, page=1, per_page=50):
    """Audit entries, newest first, optionally for one entity type and one record or user."""
    query = sa.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if key:
        query = query.where(sa.or_(AuditEntry.entity_key == key, AuditEntry.username == key))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
