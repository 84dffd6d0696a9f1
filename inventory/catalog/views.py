"""Catalog pages: materials and categories."""

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.audit.queries import audit_entries
from inventory.auth.access import authorize, can
from inventory.catalog import services
from inventory.catalog.forms import CategoryForm, MaterialForm
from inventory.catalog.queries import categories, materials
from inventory.db import db
from inventory.forms import choices, collect, page_number, submit

blueprint = Blueprint("catalog", __name__, url_prefix="/catalog")


@blueprint.get("/")
@login_required
def index():
    """Materials, filtered by category and text."""
    category = (request.args.get("category") or "")[:32]
    q = (request.args.get("q") or "").strip()[:100]
    query = materials(category=category or None, q=q or None)
    page = db.paginate(query, page=page_number(), per_page=50, error_out=False)
    return render_template("catalog/index.html", page=page, category=category, q=q,
                           categories=categories())


def _material_form() -> MaterialForm:
    form = MaterialForm()
    form.category.choices = choices((c.code, f"{c.code} {c.full_name}") for c in categories())
    return form


def _material_data(form, *, with_code: bool) -> dict:
    text = ["name", "unit", "category", "tracking", "name_en", "spec"]
    return collect(form, text=["code", *text] if with_code else text, integers=["shelf_life_days"],
                   numbers=["unit_price"], flags=["returnable", "needs_testing", "active"])


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add a material."""
    authorize(current_user, "catalog.edit")
    form = _material_form()

    def work():
        material = services.create_material(actor=current_user, data=_material_data(form, with_code=True))
        return url_for("catalog.show", code=material.code)

    return submit(form, work, done=_("已添加物资"), template="catalog/material_form.html")


@blueprint.get("/<code>")
@login_required
def show(code):
    """One material."""
    material = services.get_material(code)
    history = (audit_entries(entity="material", key=code, per_page=10).items
               if can(current_user, "audit.view") else [])
    return render_template("catalog/show.html", material=material, history=history)


@blueprint.route("/<code>/edit", methods=["GET", "POST"])
@login_required
def edit(code):
    """Change a material."""
    authorize(current_user, "catalog.edit")
    material = services.get_material(code)
    form = _material_form()
    if request.method == "GET":
        snapshot = services.material_snapshot(material)
        for name, value in snapshot.items():
            form[name].data = "" if value is None else (
                f"{value:.2f}" if name == "unit_price" else
                str(value) if name == "shelf_life_days" else value)
    form.code.data = material.code

    def work():
        services.update_material(actor=current_user, code=code,
                                 changes=_material_data(form, with_code=False))
        return url_for("catalog.show", code=code)

    return submit(form, work, done=_("已保存"), template="catalog/material_form.html",
                  material=material)


@blueprint.get("/categories")
@login_required
def category_index():
    """All categories."""
    return render_template("catalog/categories.html", categories=categories())


def _category_form(exclude=None) -> CategoryForm:
    """The category form; its parent is a top-level category other than ``exclude`` (itself)."""
    form = CategoryForm()
    form.parent.choices = choices([("", _("（无，一级类别）"))] + [
        (c.code, f"{c.code} {c.name}") for c in categories()
        if c.parent_id is None and c.code != exclude])
    return form


def _category_data(form, text) -> dict:
    return {**collect(form, text=text), "parent": form.parent.data or None}


@blueprint.route("/categories/new", methods=["GET", "POST"])
@login_required
def new_category():
    """Add a category."""
    authorize(current_user, "catalog.edit")
    form = _category_form()

    def work():
        services.create_category(actor=current_user, data=_category_data(form, ["code", "name"]))
        return url_for("catalog.category_index")

    return submit(form, work, done=_("已添加类别"), template="catalog/category_form.html")


@blueprint.route("/categories/<code>/edit", methods=["GET", "POST"])
@login_required
def edit_category(code):
    """Rename or move a category."""
    authorize(current_user, "catalog.edit")
    category = services.get_category(code)
    form = _category_form(exclude=code)
    if request.method == "GET":
        form.name.data = category.name
        form.parent.data = category.parent.code if category.parent else ""
    form.code.data = category.code

    def work():
        services.update_category(actor=current_user, code=code,
                                 changes=_category_data(form, ["name"]))
        return url_for("catalog.category_index")

    return submit(form, work, done=_("已保存"), template="catalog/category_form.html",
                  category=category)
