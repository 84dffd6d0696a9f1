"""Site pages: list, detail, new, edit, deactivate, delete."""

import re

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.audit.queries import audit_entries
from inventory.auth.access import authorize, authorize_somewhere, can
from inventory.db import db
from inventory.errors import ValidationError
from inventory.forms import FORM_ERRORS, ConfirmForm, choices, collect, page_number, press, submit
from inventory.sites import services
from inventory.sites.forms import SiteForm
from inventory.sites.models import FIELD_NAMES, KINDS
from inventory.sites.queries import children_of, visible_sites
from inventory.validation import Invalid

blueprint = Blueprint("sites", __name__, url_prefix="/sites")

AGREEMENT_PREFIX = "agreement_"
# An agreed quantity is read as the service's spec of one reads it.
AGREED_QUANTITY = services.AGREEMENT_LINE.fields["quantity"]


@blueprint.get("/")
@login_required
def index():
    """The sites the user can see, in tree order, filtered by kind and text."""
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    q = (request.args.get("q") or "").strip()[:100]
    query = visible_sites(current_user, kind=kind, q=q or None)
    page = db.paginate(query, page=page_number(), per_page=50, error_out=False)
    return render_template("sites/index.html", page=page, kind=kind, q=q, kinds=KINDS)


def _agreement_lines(text: str) -> list[dict]:
    """The agreed materials, one "code quantity" a line; raise ValidationError naming the first
    line that is not."""
    lines = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        if match := re.fullmatch(r"\s*(\S+)[\s,，]+(\S+)\s*", raw):
            try:
                lines.append({"material": match[1], "quantity": AGREED_QUANTITY.from_text(match[2])})
                continue
            except Invalid:
                pass
        raise ValidationError({"agreement_lines": _("第 %(n)d 行应为：物资编码 数量", n=number)})
    return lines


def _form_data(form: SiteForm, *, with_code: bool) -> dict:
    text = ["name", "kind", "address", "keeper_name", "keeper_phone"]
    data = collect(form, text=["code", *text] if with_code else text,
                   integers=["population", "households", "planning_population"],
                   numbers=["latitude", "longitude"], lists=["hazards"], flags=["active"])
    data["parent"] = form.parent.data or None
    data["agreement"] = None
    if data["kind"] == "agreement_site":
        agreement = collect(form, text=["agreement_partner", "agreement_number", "agreement_storage",
                                        "agreement_contact_name", "agreement_contact_phone"],
                            dates=["agreement_valid_from", "agreement_valid_to",
                                   "agreement_last_verified"])
        data["agreement"] = {name.removeprefix(AGREEMENT_PREFIX): value
                             for name, value in agreement.items()}
        data["agreement"]["lines"] = _agreement_lines(form.agreement_lines.data)
    return data


def _form_values(snapshot: dict) -> dict:
    """The form's fields (by name) filled from a site's snapshot."""
    values = {name: snapshot[name] for name in ("code", "name", "kind", "address", "keeper_name",
                                                 "keeper_phone", "hazards", "active")}
    values["parent"] = snapshot["parent"] or ""
    for name in ("population", "households", "latitude", "longitude"):
        values[name] = "" if snapshot[name] is None else str(snapshot[name])
    stated = snapshot["stated_planning_population"]
    values["planning_population"] = "" if stated is None else str(stated)
    if agreement := snapshot["agreement"]:
        for name in ("partner", "number", "storage", "valid_from", "valid_to", "contact_name",
                     "contact_phone"):
            values[AGREEMENT_PREFIX + name] = agreement[name]
        values["agreement_last_verified"] = agreement["last_verified"] or ""
        values["agreement_lines"] = "\n".join(f"{line['material']} {line['quantity']}"
                                              for line in agreement["lines"])
    return values


def _fill_form(form: SiteForm, snapshot: dict) -> None:
    for name, value in _form_values(snapshot).items():
        form[name].data = value


def _hold_fields(form: SiteForm, site, snapshot: dict) -> None:
    """The fields the user may not change show as they are, disabled, and go back as they are
    whatever the request said (the service would refuse a change to them all the same)."""
    values = _form_values(snapshot)
    for name in FIELD_NAMES.keys() - services.editable_fields(current_user, site):
        if (form_name := name.replace(".", "_")) in form:
            form[form_name].data = values.get(form_name, "")
            form[form_name].render_kw = {**(form[form_name].render_kw or {}), "disabled": True}


def _site_form(site=None) -> SiteForm:
    """The site form, offering the parents the user may put a site under: in their scope,
    active, not agreement sites (nor ``site`` or below it).

    The site's current parent stays offered even where the user could not choose it anew.
    """
    sites = db.session.scalars(visible_sites(current_user, include_inactive=False,
                                             details=False)).all()
    pairs = [(s.code, f"{s.code} {s.name}") for s in sites
             if s.kind != "agreement_site" and (site is None or not s.within(site))]
    if site is not None and site.parent and site.parent.code not in dict(pairs):
        pairs.insert(0, (site.parent.code, f"{site.parent.code} {site.parent.name}"))
    if can(current_user, "sites.manage"):
        pairs.insert(0, ("", _("（无，顶级站点）")))
    form = SiteForm()
    form.parent.choices = choices(pairs)
    return form


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Create a site (the bureau's: a site brings norms and a place in the tree)."""
    authorize_somewhere(current_user, "sites.manage")
    form = _site_form()
    if request.method == "GET" and request.args.get("parent"):
        form.parent.data = request.args["parent"]

    def work():
        site = services.create_site(actor=current_user, data=_form_data(form, with_code=True))
        return url_for("sites.show", code=site.code)

    return submit(form, work, done=_("已创建站点 %(name)s", name=(form.name.data or "").strip()),
                  template="sites/form.html", site=None)


@blueprint.get("/<code>")
@login_required
def show(code):
    """One site: its figures, hazards, agreement, sub-sites and recent changes."""
    site = services.get_site(code)
    authorize(current_user, "sites.view", site)
    history = (audit_entries(entity="site", key=code, per_page=10).items
               if can(current_user, "audit.view") else [])
    return render_template("sites/show.html", site=site, children=children_of(site),
                           history=history, confirm=ConfirmForm())


@blueprint.route("/<code>/edit", methods=["GET", "POST"])
@login_required
def edit(code):
    """Change a site: a keeper its address and contacts, a manager everything."""
    site = services.get_site(code)
    authorize(current_user, "sites.edit", site)
    form = _site_form(site)
    snapshot = services.site_snapshot(site)
    if request.method == "GET":
        _fill_form(form, snapshot)
    _hold_fields(form, site, snapshot)
    form.code.data = site.code

    def work():
        services.update_site(actor=current_user, code=code, changes=_form_data(form, with_code=False))
        return url_for("sites.show", code=code)

    return submit(form, work, done=_("已保存"), template="sites/form.html", site=site)


@blueprint.post("/<code>/active")
@login_required
def set_active(code):
    """Deactivate or reactivate a site (a site with history is never deleted)."""
    active = request.form.get("active") == "1"
    page = url_for("sites.show", code=code)

    def work():
        services.update_site(actor=current_user, code=code, changes={"active": active})
        return page

    return press(ConfirmForm(), work, done=_("站点已启用") if active else _("站点已停用"), back=page,
                 refused=ValidationError)


@blueprint.post("/<code>/delete")
@login_required
def delete(code):
    """Delete a site nothing refers to."""

    def work():
        services.delete_site(actor=current_user, code=code)
        return url_for("sites.index")

    return press(ConfirmForm(), work, done=_("站点已删除"), back=url_for("sites.show", code=code),
                 refused=FORM_ERRORS)
