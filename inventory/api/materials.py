"""The catalog: /materials and /categories."""

from flask import g, jsonify, request

from inventory.api.core import api, json_body, paginated
from inventory.catalog import services
from inventory.catalog.queries import categories, materials


@api.get("/materials")
def list_materials():
    """Materials, filtered by category code (a top-level code includes its sub-categories) and text."""
    q = (request.args.get("q") or "").strip()[:100] or None
    query = materials(category=request.args.get("category") or None, q=q)
    return jsonify(paginated(query, services.material_snapshot))


@api.post("/materials")
def create_material():
    """Add a material to the catalog."""
    material = services.create_material(actor=g.api_user, data=json_body())
    return jsonify(services.material_snapshot(material)), 201


@api.get("/materials/<code>")
def get_material(code):
    """One material."""
    return jsonify(services.material_snapshot(services.get_material(code)))


@api.patch("/materials/<code>")
def update_material(code):
    """Change some fields of a material."""
    material = services.update_material(actor=g.api_user, code=code, changes=json_body())
    return jsonify(services.material_snapshot(material))


def category_json(category) -> dict:
    return {"code": category.code, "name": category.name,
            "parent": category.parent.code if category.parent else None}


@api.get("/categories")
def list_categories():
    """Every category, top level first, each followed by its sub-categories."""
    items = [category_json(c) for c in categories()]
    return jsonify(items=items, total=len(items), page=1, per_page=len(items))


@api.post("/categories")
def create_category():
    """Add a category."""
    return jsonify(category_json(services.create_category(actor=g.api_user, data=json_body()))), 201


@api.patch("/categories/<code>")
def update_category(code):
    """Rename or move a category."""
    category = services.update_category(actor=g.api_user, code=code, changes=json_body())
    return jsonify(category_json(category))
