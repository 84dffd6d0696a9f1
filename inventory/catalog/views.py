"""Catalog pages: materials and categories."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.audit.queries import audit_entries
from inventory.auth.access import authorize, can
from inventory.catalog import services
from inventory.catalog.forms import CategoryForm, MaterialForm
from inventory.catalog.queries import categories, materials
from inventory.db import db
from inventory.forms import FORM_ERRORS, choices, collect, page_number, show_errors

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


def _category_choices():
    return choices((c.code, f"{c.code} {c.full_name}") for c in categories())


def _material_data(form, *, with_code: bool) -> dict:
    data = collect(form, text=(["code"] if with_code else []) + ["name", "unit", "category", "tracking"],
                   optional_text=["name_en", "spec"], integers=["shelf_life_days"],
                   flags=["returnable", "needs_testing", "active"])
    return data


def _save(form, save, success_message):
    """Run ``save()``; flash and return what it saved, or put its errors on the form (None)."""
    try:
        record = save()
    except FORM_ERRORS as error:
        show_errors(form, error)
        return None
    flash(success_message, "success")
    return record


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add a material."""
    authorize(current_user, "catalog.edit")
    form = MaterialForm()
    form.category.choices = _category_choices()
    if form.validate_on_submit():
        if material := _save(form, lambda: services.create_material(
                actor=current_user, data=_material_data(form, with_code=True)), _("已添加物资")):
            return redirect(url_for("catalog.show", code=material.code))
        return render_template("catalog/material_form.html", form=form), 422
    return render_template("catalog/material_form.html", form=form)


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
    form = MaterialForm()
    form.category.choices = _category_choices()
    status = 200
    if request.method == "GET":
        snapshot = services.material_snapshot(material)
        for name, value in snapshot.items():
            form[name].data = "" if value is None else (
                str(value) if name == "shelf_life_days" else value)
    elif form.validate_on_submit():
        if _save(form, lambda: services.update_material(
                actor=current_user, code=code, changes=_material_data(form, with_code=False)),
                _("已保存")):
            return redirect(url_for("catalog.show", code=code))
        status = 422
    form.code.data = material.code
    return render_template("catalog/material_form.html", form=form, material=material), status


@blueprint.get("/categories")
@login_required
def category_index():
    """All categories."""
    return render_template("catalog/categories.html", categories=categories())


def _top_level_choices(exclude=None):
    return choices([("", _("（无，一级类别）"))] + [
        (c.code, f"{c.code} {c.name}") for c in categories()
        if c.parent_id is None and c.code != exclude])


@blueprint.route("/categories/new", methods=["GET", "POST"])
@login_required
def new_category():
    """Add a category."""
    authorize(current_user, "catalog.edit")
    form = CategoryForm()
    form.parent.choices = _top_level_choices()
    if form.validate_on_submit():
        def save():
            data = collect(form, text=["code", "name"])
            data["parent"] = form.parent.data or None
            return services.create_category(actor=current_user, data=data)
        if _save(form, save, _("已添加类别")):
            return redirect(url_for("catalog.category_index"))
        return render_template("catalog/category_form.html", form=form), 422
    return render_template("catalog/category_form.html", form=form)


@blueprint.route("/categories/<code>/edit", methods=["GET", "POST"])
@login_required
def edit_category(code):
    """Rename or move a category."""
    authorize(current_user, "catalog.edit")
    category = services.get_category(code)
    form = CategoryForm()
    form.parent.choices = _top_level_choices(exclude=code)
    status = 200
    if request.method == "GET":
        form.name.data = category.name
        form.parent.data = category.parent.code if category.parent else ""
    elif form.validate_on_submit():
        def save():
            data = collect(form, text=["name"])
            data["parent"] = form.parent.data or None
            return services.update_category(actor=current_user, code=code, changes=data)
        if _save(form, save, _("已保存")):
            return redirect(url_for("catalog.category_index"))
        status = 422
    form.code.data = category.code
    return render_template("catalog/category_form.html", form=form, category=category), status
