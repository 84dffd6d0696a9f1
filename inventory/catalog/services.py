"""The rules for the catalog: categories and materials."""

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.audit.services import record_created, record_updated
from inventory.auth.access import authorize
from inventory.catalog.models import TRACKING, Category, Material
from inventory.db import db, transactional
from inventory.errors import Duplicate, NotFound, ValidationError
from inventory.validation import Boolean, Integer, Number, Object, String, load

CODE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"

CATEGORY = Object({
    "code": String(max_length=32, pattern=CODE_PATTERN, required=True),
    "name": String(max_length=60, required=True),
    "parent": String(max_length=32, nullable=True, description="上级类别编码"),
})

MATERIAL = Object({
    "code": String(max_length=32, pattern=CODE_PATTERN, required=True,
                   description="物资编码（参照 GB/T 38565 分类）"),
    "name": String(max_length=100, required=True),
    "name_en": String(max_length=100, min_length=0),
    "category": String(max_length=32, required=True, description="类别编码"),
    "unit": String(max_length=10, required=True, description="计量单位，如 顶、床、件、台、箱"),
    "spec": String(max_length=200, min_length=0),
    "tracking": String(max_length=10, choices=TRACKING,
                       description="lot: 按批次计数; serial: 一物一码（发电机、卫星电话）"),
    "returnable": Boolean(description="使用后可归还（帐篷、折叠床、发电机等）"),
    "shelf_life_days": Integer(minimum=1, maximum=36_500, nullable=True),
    "needs_testing": Boolean(description="需每月试机（卫星电话、发电机）"),
    "unit_price": Number(minimum=0, maximum=100_000_000, nullable=True,
                         description="参考单价（元，两位小数）：盘点差异按它计金额"),
    "active": Boolean(),
})

MATERIAL_FIELDS = ("name", "name_en", "category", "unit", "spec", "tracking", "returnable",
                   "shelf_life_days", "needs_testing", "unit_price", "active")


def get_material(code: str) -> Material:
    """The material with this code; raise NotFound."""
    material = db.session.scalar(sa.select(Material).where(Material.code == code))
    if material is None:
        raise NotFound(_("物资 %(code)s 不存在", code=code))
    return material


def get_category(code: str) -> Category:
    """The category with this code; raise NotFound."""
    category = db.session.scalar(sa.select(Category).where(Category.code == code))
    if category is None:
        raise NotFound(_("类别 %(code)s 不存在", code=code))
    return category


def _category_for(code: str, field: str = "category") -> Category:
    category = db.session.scalar(sa.select(Category).where(Category.code == code))
    if category is None:
        raise ValidationError({field: _("类别 %(code)s 不存在", code=code)})
    return category


def material_snapshot(material: Material) -> dict:
    """The material's fields as the API and the audit log see them."""
    return {
        "code": material.code,
        "name": material.name,
        "name_en": material.name_en,
        "category": material.category.code,
        "unit": material.unit,
        "spec": material.spec,
        "tracking": material.tracking,
        "returnable": material.returnable,
        "shelf_life_days": material.shelf_life_days,
        "needs_testing": material.needs_testing,
        "unit_price": material.unit_price,
        "active": material.active,
    }


def _apply(material: Material, fields: dict) -> None:
    for name in ("name", "unit", "tracking", "returnable", "shelf_life_days", "needs_testing",
                 "active"):
        if name in fields:
            setattr(material, name, fields[name])
    for name in ("name_en", "spec"):
        if name in fields:
            setattr(material, name, fields[name] or "")
    if "unit_price" in fields:
        material.unit_price = None if fields["unit_price"] is None else round(fields["unit_price"], 2)
    if "category" in fields:
        material.category = _category_for(fields["category"])


@transactional
def create_material(*, actor, data: dict) -> Material:
    """Add a material to the catalog; raise ValidationError, Duplicate or Forbidden."""
    authorize(actor, "catalog.edit")
    fields = load(MATERIAL, data)
    if db.session.scalar(sa.select(Material.id).where(Material.code == fields["code"])):
        raise Duplicate(_("物资编码 %(code)s 已存在", code=fields["code"]))
    material = Material(code=fields["code"], tracking="lot")
    _apply(material, fields)
    db.session.add(material)
    db.session.flush()
    record_created(actor=actor, entity="material", key=material.code,
                   snapshot=material_snapshot(material))
    return material


@transactional
def update_material(*, actor, code: str, changes: dict) -> Material:
    """Change a material's fields (a partial update); its code stays."""
    authorize(actor, "catalog.edit")
    material = get_material(code)
    fields = load(MATERIAL, changes, partial=True)
    if fields.pop("code", code) != code:
        raise ValidationError({"code": _("物资编码不可修改")})
    before = material_snapshot(material)
    _apply(material, fields)
    db.session.flush()
    record_updated(actor=actor, entity="material", key=code, before=before,
                   after=material_snapshot(material))
    return material


def _category_snapshot(category: Category) -> dict:
    return {"name": category.name, "parent": category.parent.code if category.parent else None}


def _category_parent(code: str | None, category: Category | None = None) -> Category | None:
    if code is None:
        return None
    parent = _category_for(code, "parent")
    if parent.parent_id is not None:
        raise ValidationError({"parent": _("类别最多两级，上级须为一级类别")})
    if category is not None and parent.id == category.id:
        raise ValidationError({"parent": _("上级类别不能是自己")})
    return parent


@transactional
def create_category(*, actor, data: dict) -> Category:
    """Add a category (two levels at most)."""
    authorize(actor, "catalog.edit")
    fields = load(CATEGORY, data)
    if db.session.scalar(sa.select(Category.id).where(Category.code == fields["code"])):
        raise Duplicate(_("类别编码 %(code)s 已存在", code=fields["code"]))
    category = Category(code=fields["code"], name=fields["name"],
                        parent=_category_parent(fields.get("parent")))
    db.session.add(category)
    db.session.flush()
    record_created(actor=actor, entity="category", key=category.code,
                   snapshot=_category_snapshot(category))
    return category


@transactional
def update_category(*, actor, code: str, changes: dict) -> Category:
    """Rename a category or move it under another top-level category."""
    authorize(actor, "catalog.edit")
    category = get_category(code)
    fields = load(CATEGORY, changes, partial=True)
    if fields.pop("code", code) != code:
        raise ValidationError({"code": _("类别编码不可修改")})
    before = _category_snapshot(category)
    if "name" in fields:
        category.name = fields["name"]
    if "parent" in fields:
        has_children = db.session.scalar(sa.select(sa.exists().where(
            Category.parent_id == category.id)))
        if fields["parent"] is not None and has_children:
            raise ValidationError({"parent": _("该类别有下级类别，不能再设上级")})
        category.parent = _category_parent(fields["parent"], category)
    db.session.flush()
    record_updated(actor=actor, entity="category", key=code, before=before,
                   after=_category_snapshot(category))
    return category
