"""Relief-kit pages (救灾物资包): everyone reads the kits; managers add, change and delete them."""

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from inventory.auth.access import authorize
from inventory.dispatch import kits as kit_actions
from inventory.dispatch.forms import SPARE_KIT_ROWS, KitForm
from inventory.dispatch.schemas import KIT
from inventory.dispatch.views.common import blueprint
from inventory.forms import ConfirmForm, collect, press, submit
from inventory.stock.forms import Lines
from inventory.stock.views.common import material_choices


@blueprint.get("/kits")
@login_required
def kits():
    """Every kit with its lines."""
    return render_template("dispatch/kits.html", kits=kit_actions.kits(), confirm=ConfirmForm())


def _kit_form(kit=None) -> KitForm:
    """The kit form, its rows offered every active material (and any the kit already names)."""
    form = KitForm()
    if request.method == "GET" and kit is not None:
        while len(form.lines.entries) < len(kit.lines) + SPARE_KIT_ROWS:
            form.lines.append_entry()
    options = material_choices()
    offered = {option.value for option in options}
    options += [SelectChoice(line.material.code, f"{line.material.name}（{line.material.unit}）")
                for line in (kit.lines if kit is not None else []) if line.material.code not in offered]
    for entry in form.lines.entries:
        entry.form.material.choices = options
    return form


def _data(form: KitForm, lines: Lines) -> dict:
    data = collect(form, text=["name", "basis", "note"], flags=["active"])
    data["lines"] = lines.data()
    return data


@blueprint.route("/kits/new", methods=["GET", "POST"])
@login_required
def new_kit():
    """Add a kit."""
    authorize(current_user, "dispatch.kits")
    form = _kit_form()
    lines = Lines(form, KIT, none_filled=_("至少填写一行物资"))

    def work():
        kit_actions.create_kit(actor=current_user, data=_data(form, lines))
        return url_for("dispatch.kits")

    return submit(form, work, done=_("已添加物资包"), template="dispatch/kit_form.html",
                  show=lines.show_errors)


@blueprint.route("/kits/<int(max=2147483647):kit_id>/edit", methods=["GET", "POST"])
@login_required
def edit_kit(kit_id):
    """Change a kit: its fields and its lines, as a whole."""
    authorize(current_user, "dispatch.kits")
    kit = kit_actions.get_kit(kit_id)
    form = _kit_form(kit)
    if request.method == "GET":
        form.name.data, form.basis.data, form.note.data, form.active.data = (
            kit.name, kit.basis, kit.note, kit.active)
        for entry, line in zip(form.lines.entries, kit.lines, strict=False):
            entry.form.material.data = line.material.code
            entry.form.quantity.data = f"{float(line.quantity):g}"
    lines = Lines(form, KIT, none_filled=_("至少填写一行物资"))

    def work():
        kit_actions.update_kit(actor=current_user, kit_id=kit_id, data=_data(form, lines))
        return url_for("dispatch.kits")

    return submit(form, work, done=_("已保存"), template="dispatch/kit_form.html",
                  show=lines.show_errors, kit=kit)


@blueprint.post("/kits/<int(max=2147483647):kit_id>/delete")
@login_required
def delete_kit(kit_id):
    """Remove a kit."""

    def work():
        kit_actions.delete_kit(actor=current_user, kit_id=kit_id)
        return url_for("dispatch.kits")

    return press(ConfirmForm(), work, done=_("已删除物资包"))
