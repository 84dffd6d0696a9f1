"""Norm pages (managers edit; everyone reads) and the shortfall report."""

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import authorize, is_scoped
from inventory.catalog.models import Material
from inventory.db import db
from inventory.forms import ConfirmForm, choices, collect, press, submit
from inventory.norms import queries, services
from inventory.norms.forms import NormForm
from inventory.norms.models import Norm
from inventory.reports.spreadsheets import workbook
from inventory.sites.models import HAZARD_NAMES, Site
from inventory.sites.services import get_site
from inventory.validation import listing

blueprint = Blueprint("norms", __name__, url_prefix="/norms")


@blueprint.get("/")
@login_required
def index():
    """Every norm, by site kind."""
    norms = db.session.scalars(sa.select(Norm).order_by(Norm.site_kind, Norm.hazard.is_not(None),
                                                        Norm.name)).all()
    return render_template("norms/index.html", norms=norms, confirm=ConfirmForm())


def _norm_form() -> NormForm:
    form = NormForm()
    form.materials.choices = choices((m.code, m.name) for m in db.session.scalars(
        sa.select(Material).where(Material.active.is_(True)).order_by(Material.code)))
    return form


def _data(form: NormForm) -> dict:
    data = collect(form, text=["name", "site_kind", "basis"], integers=["min_quantity"],
                   numbers=["per_person"], lists=["materials"], flags=["count_agreement_sites"])
    data["hazard"] = form.hazard.data or None
    data["readiness"] = form.readiness.data or None
    data["min_quantity"] = data["min_quantity"] or 0
    data["per_person"] = data["per_person"] or 0
    return data


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add a norm."""
    authorize(current_user, "norms.edit")
    form = _norm_form()

    def work():
        services.create_norm(actor=current_user, data=_data(form))
        return url_for("norms.index")

    return submit(form, work, done=_("已添加定额"), template="norms/form.html")


@blueprint.route("/<int(max=2147483647):norm_id>/edit", methods=["GET", "POST"])
@login_required
def edit(norm_id):
    """Change a norm."""
    authorize(current_user, "norms.edit")
    norm = services.get_norm(norm_id)
    form = _norm_form()
    if request.method == "GET":
        snapshot = services.norm_snapshot(norm)
        for name in ("name", "site_kind", "materials", "count_agreement_sites", "basis"):
            form[name].data = snapshot[name]
        form.hazard.data = norm.hazard or ""
        form.readiness.data = norm.readiness or ""
        form.min_quantity.data = str(norm.min_quantity)
        form.per_person.data = f"{float(norm.per_person):g}"

    def work():
        services.update_norm(actor=current_user, norm_id=norm_id, changes=_data(form))
        return url_for("norms.index")

    return submit(form, work, done=_("已保存"), template="norms/form.html", norm=norm)


@blueprint.post("/<int(max=2147483647):norm_id>/delete")
@login_required
def delete(norm_id):
    """Remove a norm."""

    def work():
        services.delete_norm(actor=current_user, norm_id=norm_id)
        return url_for("norms.index")

    return press(ConfirmForm(), work, done=_("已删除定额"))


def norm_list(norms) -> str:
    """The norms behind a shortfall row, told apart by their hazard: 棉被（易“三断”）、棉被."""
    return listing(f"{norm['name']}（{HAZARD_NAMES[norm['hazard']]}）" if norm["hazard"] else norm["name"]
                   for norm in norms)


def _report():
    """The shortfall report asked for: its site (?site=, one the user may see) or none, whether
    every norm is listed (?all=1), its rows, and the names of the sites they name."""
    site = get_site(code) if (code := request.args.get("site")) else None
    if site is not None:
        authorize(current_user, "stock.view", site)
    everything = request.args.get("all") == "1"
    rows = queries.binding_shortfalls(current_user, site=site, everything=everything)
    return site, everything, rows, dict(db.session.execute(sa.select(Site.code, Site.name)).all())


def _scope_name(site) -> str:
    """Whose shortfalls a report lists: the site asked for and its sub-sites, the user's own
    sites, or every site."""
    if site is not None:
        return _("%(site)s及下属站点", site=site.name)
    if is_scoped(current_user):
        return listing(own.name for own in current_user.sites) or _("无")
    return _("全部站点")


@blueprint.get("/shortfalls.xlsx")
@login_required
def shortfalls_workbook():
    """The shortfall report as an Excel workbook with Chinese headers: a title naming its scope,
    the time it was made, and a filter on the header row."""
    site, everything, rows, names = _report()
    codes = {code for row in rows for code in row["materials"]}
    units = dict(db.session.execute(sa.select(Material.code, Material.unit)
                                    .where(Material.code.in_(codes))).all()) if codes else {}
    title = _("%(organization)s%(report)s：%(scope)s",
              organization=current_app.config["ORGANIZATION_NAME"],
              report=_("储备定额清单（含已达标）") if everything else _("储备定额短缺清单"),
              scope=_scope_name(site))
    made = _("生成时间：%(at)s", at=format_datetime(clock.now(), "yyyy-MM-dd HH:mm zzzz"))
    document = workbook(_("储备短缺"), [_("站点编码"), _("站点"), _("定额"), _("物资编码"),
                                        _("需要"), _("可用"), _("短缺"), _("单位"), _("依据定额")],
                        ([row["site"], names[row["site"]], row["name"], " ".join(row["materials"]),
                          row["required"], row["usable"], row["shortfall"],
                          "/".join(dict.fromkeys(units[code] for code in row["materials"]
                                                 if code in units)),
                          norm_list(row["norms"])]
                         for row in rows),
                        widths=[12, 24, 22, 26, 10, 10, 10, 8, 30], title=title, note=made)
    return Response(document, mimetype="application/vnd.openxmlformats-officedocument."
                                        "spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="shortfalls.xlsx"'})


@blueprint.get("/shortfalls")
@login_required
def shortfalls():
    """Who falls short of which norm, by how much: per site, per town and for the county."""
    site, everything, rows, names = _report()
    towns = queries.shortfall_rollup(current_user, level="town")
    return render_template("norms/shortfalls.html", rows=rows, towns=towns, names=names,
                           site=site, everything=everything, norm_list=norm_list)
