"""Reading the audit log."""

import json

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from inventory.audit.models import AuditEntry
from inventory.db import db
from inventory.validation import listing

# The names of the fields an entry may record, as the log page shows them.
FIELD_NAMES = {
    "code": _l("编码"), "name": _l("名称"), "name_en": _l("英文名称"), "kind": _l("类型"),
    "parent": _l("上级"), "population": _l("人口"), "households": _l("户数"),
    "planning_population": _l("保障人口"), "latitude": _l("纬度"), "longitude": _l("经度"),
    "hazards": _l("灾害风险"), "address": _l("地址"), "keeper_name": _l("保管员"),
    "keeper_phone": _l("联系电话"), "active": _l("启用"), "agreement": _l("代储协议"),
    "category": _l("类别"), "unit": _l("计量单位"), "spec": _l("规格型号"),
    "tracking": _l("管理方式"), "returnable": _l("可归还"), "shelf_life_days": _l("保质期（天）"),
    "needs_testing": _l("需定期试机"), "role": _l("角色"), "sites": _l("站点"),
    "recipient_type": _l("领用方类型"), "recipient_name": _l("领用人/单位"),
    "recipient_contact": _l("领用人电话"), "recipient_id_number": _l("身份证号"),
    "recipient_pending": _l("先发后补待补登"),
    # relief kits, road times, owners' approvals (灾情调度)
    "id": _l("编号"), "basis": _l("计算方式"), "note": _l("备注"), "lines": _l("物资明细"),
    "count": _l("条数"), "request": _l("需求申报"), "owner": _l("物资所有者"),
    "approved_by": _l("批准人"), "approved_at": _l("批准时间"), "reference": _l("批准文号"),
    # devices and offline operations held (三断)
    "user": _l("用户"), "status": _l("状态"),
}


def audit_value(value) -> str:
    """One old or new value of an audit entry, as a person reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return str(_l("是") if value else _l("否"))
    if isinstance(value, list):
        return listing(audit_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


def audit_entries(*, entity=None, key=None, page=1, per_page=50):
    """Audit entries, newest first, optionally for one entity type and one record or user."""
    query = sa.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if key:
        query = query.where(sa.or_(AuditEntry.entity_key == key, AuditEntry.username == key))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
