"""The catalog: /materials and /categories."""

from flask import g, request

from inventory.api.core import json_body
from inventory.api.routes import SEARCH, Body, Page, query, route
from inventory.api.shapes import Shape
from inventory.catalog import services
from inventory.catalog.queries import categories, materials
from inventory.validation import String

# The JSON is the snapshot the audit log keeps too; the shape describes it from the input spec.
MATERIAL = Shape.from_spec(services.MATERIAL, name="Material", dump=services.material_snapshot)
MATERIAL_INPUT = Body(services.MATERIAL, name="MaterialInput")
CATEGORY = Shape.from_spec(services.CATEGORY, name="Category", read={"parent": "parent.code"})
CATEGORY_INPUT = Body(services.CATEGORY, name="CategoryInput")


@route.get("/materials", "物资目录", query=(query("category", "类别编码（一级类别含其下级）"), SEARCH),
           answers=Page(MATERIAL), errors=(401, 422))
def list_materials():
    """Materials, filtered by category code (a top-level code includes its sub-categories) and text."""
    q = (request.args.get("q") or "").strip()[:100] or None
    return materials(category=request.args.get("category") or None, q=q)


@route.post("/materials", "新增物资", body=MATERIAL_INPUT, answers=MATERIAL, status=201,
            errors=(400, 401, 403, 409, 422))
def create_material():
    """Add a material to the catalog."""
    return services.create_material(actor=g.api_user, data=json_body())


@route.get("/materials/<code>", "一种物资", params={"code": String(max_length=32, description="物资编码")},
           answers=MATERIAL, errors=(401, 404))
def get_material(code):
    """One material."""
    return services.get_material(code)


@route.patch("/materials/<code>", "修改物资", params={"code": String(max_length=32, description="物资编码")},
             body=MATERIAL_INPUT.changes(), answers=MATERIAL, errors=(400, 401, 403, 404, 422))
def update_material(code):
    """Change some fields of a material."""
    return services.update_material(actor=g.api_user, code=code, changes=json_body())


@route.get("/categories", "物资类别", answers=Page(CATEGORY, paged=False), errors=(401,))
def list_categories():
    """Every category, top level first, each followed by its sub-categories."""
    return categories()


@route.post("/categories", "新增类别", body=CATEGORY_INPUT, answers=CATEGORY, status=201,
            errors=(400, 401, 403, 409, 422))
def create_category():
    """Add a category."""
    return services.create_category(actor=g.api_user, data=json_body())


@route.patch("/categories/<code>", "修改类别", params={"code": String(max_length=32, description="类别编码")},
             body=CATEGORY_INPUT.changes(), answers=CATEGORY, errors=(400, 401, 403, 404, 422))
def update_category(code):
    """Rename or move a category."""
    return services.update_category(actor=g.api_user, code=code, changes=json_body())
