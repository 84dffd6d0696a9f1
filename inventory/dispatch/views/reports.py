"""The incident's reports as pages, A4 PDFs (?format=pdf) and Excel (?format=xlsx): the report per
site and material, the 首报/续报 sheet and the replenishment list.

Everyone who may view incidents reads them; a keeper's (or auditor's) figures are those of their
own sites, and the sheet says so. The incident itself (what, where, how many people) is read by
all.
"""

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.dispatch import queries, sheets
from inventory.dispatch.sheets import pdf as sheet_pdf
from inventory.dispatch.views.common import blueprint, incident_or_404
from inventory.errors import ValidationError
from inventory.reports.files import download, rendered_pdf

ONE = "/<int(max=2147483647):incident_id>"


def _format() -> str:
    """The ``format`` asked for: the page (empty), pdf or xlsx; anything else is a 422."""
    wanted = request.args.get("format", "")
    if wanted not in ("", "pdf", "xlsx"):
        raise ValidationError({"format": _("格式只能是 pdf 或 xlsx")})
    return wanted


def _file(document: bytes, *, kind: str, ascii_kind: str, incident, extension: str):
    """The file, named for what it holds (首报-12-某某地震.pdf), with an ASCII fallback name."""
    return download(document, parts=(kind, str(incident.id), incident.name),
                    ascii_parts=(ascii_kind, str(incident.id)), extension=extension)


def _pdf(render, **naming):
    return _file(rendered_pdf(render, what="incident"), extension=".pdf", **naming)


@blueprint.get(f"{ONE}/report")
@login_required
def report(incident_id):
    """物资调度统计: requested, planned, dispatched, in transit, received, issued, returned,
    loans outstanding and unmet, per site and material, per material, and other owners' goods."""
    incident = incident_or_404(incident_id)
    wanted = _format()
    figures = queries.report(current_user, incident)
    naming = {"kind": _("物资调度统计"), "ascii_kind": "incident-report", "incident": incident}
    if wanted == "pdf":
        return _pdf(lambda: sheet_pdf.report(figures), **naming)
    if wanted == "xlsx":
        return _file(sheets.report_workbook(figures), extension=".xlsx", **naming)
    return render_template("dispatch/report.html", incident=incident, report=figures,
                           figures=queries.FIGURES, owned_figures=queries.OWNED_FIGURES,
                           names=sheets.figure_names(), facts=sheets.facts(incident),
                           owner_name=sheets.owner_name)


@blueprint.get(f"{ONE}/first-report")
@login_required
def first_report(incident_id):
    """首报 (?sequence=n: the n-th 续报) on one page to print or as a PDF: what, where, the
    people, goods sent and on the road, unmet needs, and the time against the one-hour target."""
    incident = incident_or_404(incident_id)
    wanted = _format()
    if wanted == "xlsx":
        raise ValidationError({"format": _("首报只有打印页和 PDF")})
    data = queries.first_report(incident, user=current_user,
                                sequence=queries.report_sequence(request.args.get("sequence")))
    if wanted == "pdf":
        return _pdf(lambda: sheet_pdf.first_report(data), kind=str(data["title"]), ascii_kind="first-report",
                    incident=incident)
    return render_template("dispatch/first_report.html", incident=incident, data=data,
                           facts=sheets.facts(incident))


@blueprint.get(f"{ONE}/replenishment")
@login_required
def replenishment(incident_id):
    """补库清单: what to buy so every site the incident drew on meets its norms again."""
    incident = incident_or_404(incident_id)
    wanted = _format()
    plan = queries.replenishment(incident, user=current_user)
    naming = {"kind": _("补库清单"), "ascii_kind": "replenishment", "incident": incident}
    if wanted == "pdf":
        return _pdf(lambda: sheet_pdf.replenishment(plan), **naming)
    if wanted == "xlsx":
        return _file(sheets.replenishment_workbook(plan), extension=".xlsx", **naming)
    return render_template("dispatch/replenishment.html", incident=incident, plan=plan,
                           facts=sheets.facts(incident))
