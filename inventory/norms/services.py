"""The rules for norms: what a norm may say, and who may change it."""

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.audit.services import record_created, record_deleted, record_updated
from inventory.auth.access import authorize
from inventory.catalog.models import Material
from inventory.db import db, transactional
from inventory.errors import NotFound, ValidationError
from inventory.norms.models import READINESS_GROUPS, Norm
from inventory.sites.models import HAZARDS, KINDS
from inventory.validation import Array, Boolean, Integer, Number, Object, String, listing, load

NORM = Object({
    "name": String(max_length=100, required=True),
    "site_kind": String(max_length=20, choices=KINDS, required=True),
    "hazard": String(max_length=20, choices=HAZARDS, nullable=True,
                     description="只适用于带此灾害标签的站点"),
    "materials": Array(String(max_length=32), min_items=1, max_items=20, unique=True,
                       required=True, description="可互相替代的物资编码（任一计入）"),
    "min_quantity": Integer(minimum=0, maximum=1_000_000_000),
    "per_person": Number(minimum=0, maximum=10_000, description="每名保障人口的数量（物资计量单位）"),
    "count_agreement_sites": Boolean(description="计入核查未超过 92 天的下属代储点库存"),
    "readiness": String(max_length=10, choices=READINESS_GROUPS, nullable=True,
                        description="“三断”保障评估中的类别"),
    "basis": String(max_length=500, min_length=0, multiline=True, description="定额依据"),
})


def get_norm(norm_id: int) -> Norm:
    """The norm with this id; raise NotFound."""
    norm = db.session.get(Norm, norm_id)
    if norm is None:
        raise NotFound(_("定额不存在"))
    return norm


def norm_snapshot(norm: Norm) -> dict:
    """The norm as the API and the audit log see it."""
    return {"id": norm.id, "name": norm.name, "site_kind": norm.site_kind, "hazard": norm.hazard,
            "materials": [m.code for m in norm.materials], "min_quantity": norm.min_quantity,
            "per_person": float(norm.per_person), "count_agreement_sites": norm.count_agreement_sites,
            "readiness": norm.readiness, "basis": norm.basis}


def _materials(codes) -> list[Material]:
    found = {m.code: m for m in db.session.scalars(sa.select(Material).where(Material.code.in_(codes)))}
    if missing := [code for code in codes if code not in found]:
        raise ValidationError({"materials": _("物资不存在：%(codes)s", codes=listing(missing))})
    return [found[code] for code in codes]


def _apply(norm: Norm, fields: dict) -> None:
    for name in ("name", "site_kind", "hazard", "min_quantity", "per_person",
                 "count_agreement_sites", "readiness"):
        if name in fields:
            setattr(norm, name, fields[name])
    if "basis" in fields:
        norm.basis = fields["basis"] or ""
    if "materials" in fields:
        norm.materials = _materials(fields["materials"])


@transactional
def create_norm(*, actor, data: dict) -> Norm:
    """Add a norm."""
    authorize(actor, "norms.edit")
    fields = load(NORM, data)
    norm = Norm(min_quantity=0, per_person=0, count_agreement_sites=False)
    _apply(norm, fields)
    db.session.add(norm)
    db.session.flush()
    record_created(actor=actor, entity="norm", key=str(norm.id), snapshot=norm_snapshot(norm))
    return norm


@transactional
def update_norm(*, actor, norm_id: int, changes: dict) -> Norm:
    """Change some fields of a norm."""
    authorize(actor, "norms.edit")
    norm = get_norm(norm_id)
    fields = load(NORM, changes, partial=True)
    before = norm_snapshot(norm)
    _apply(norm, fields)
    db.session.flush()
    record_updated(actor=actor, entity="norm", key=str(norm.id), before=before,
                   after=norm_snapshot(norm))
    return norm


@transactional
def delete_norm(*, actor, norm_id: int) -> None:
    """Remove a norm (nothing refers to norms; shortfalls are computed, never stored)."""
    authorize(actor, "norms.edit")
    norm = get_norm(norm_id)
    snapshot = norm_snapshot(norm)
    db.session.delete(norm)
    record_deleted(actor=actor, entity="norm", key=str(norm_id), snapshot=snapshot)
