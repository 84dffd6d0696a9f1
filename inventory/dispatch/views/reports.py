"""The incident's reports as pages, A4 PDFs (?format=pdf) and Excel (?format=xlsx): the report per
site and material, the 首报/续报 sheet and the replenishment list.

Everyone who may view incidents reads them; a keeper's (or auditor's) figures are those of their
own sites, and the sheet says so. The incident itself (what, where, how many people) is read by
all.
"""

import re
from urllib.parse import quote

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import authorize_somewhere
from inventory.dispatch import queries, sheets
from inventory.dispatch.services import get_incident
from inventory.dispatch.sheets import pdf as sheet_pdf
from inventory.dispatch.views.common import blueprint
from inventory.errors import Unavailable, ValidationError
from inventory.labels import pdf

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ONE = "/<int(max=2147483647):incident_id>"
_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f\s]+')


def _incident(incident_id: int):
    """The incident (404), for anyone who may view incidents (403)."""
    incident = get_incident(incident_id)
    authorize_somewhere(current_user, "dispatch.view")
    return incident


def _format() -> str:
    """The ``format`` asked for: the page (empty), pdf or xlsx; anything else is a 422."""
    wanted = request.args.get("format", "")
    if wanted not in ("", "pdf", "xlsx"):
        raise ValidationError({"format": _("格式只能是 pdf 或 xlsx")})
    return wanted


def _download(data: bytes, *, kind: str, ascii_kind: str, incident, extension: str) -> Response:
    """The file, named for what it holds (首报-12-某某地震.pdf), with an ASCII fallback name."""
    name = "-".join(_UNSAFE_IN_NAMES.sub("_", part).strip("_")
                    for part in (kind, str(incident.id), incident.name) if part) + extension
    how = "inline" if extension == ".pdf" else "attachment"
    disposition = (f"{how}; filename=\"{ascii_kind}-{incident.id}{extension}\"; "
                   f"filename*=UTF-8''{quote(name, safe='')}")
    mimetype = "application/pdf" if extension == ".pdf" else XLSX
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": disposition})


def _pdf(render, **naming) -> Response:
    try:
        data = render()
    except pdf.FontMissing:
        current_app.logger.error("no CJK font for incident PDFs: apt-get install fonts-wqy-zenhei")
        raise Unavailable(_("服务器缺少中文字体，无法生成 PDF（请安装 fonts-wqy-zenhei）")) from None
    return _download(data, extension=".pdf", **naming)


@blueprint.get(f"{ONE}/report")
@login_required
def report(incident_id):
    """物资调度统计: requested, planned, dispatched, in transit, received, issued, returned,
    loans outstanding and unmet, per site and material, per material, and other owners' goods."""
    incident = _incident(incident_id)
    wanted = _format()
    figures = queries.report(current_user, incident)
    naming = {"kind": _("物资调度统计"), "ascii_kind": "incident-report", "incident": incident}
    if wanted == "pdf":
        return _pdf(lambda: sheet_pdf.report(figures), **naming)
    if wanted == "xlsx":
        return _download(sheets.report_workbook(figures), extension=".xlsx", **naming)
    return render_template("dispatch/report.html", incident=incident, report=figures,
                           figures=queries.FIGURES, owned_figures=queries.OWNED_FIGURES,
                           names=sheets.figure_names(), facts=sheets.facts(incident),
                           owner_name=sheets.owner_name)


@blueprint.get(f"{ONE}/first-report")
@login_required
def first_report(incident_id):
    """首报 (?sequence=n: the n-th 续报) on one page to print or as a PDF: what, where, the
    people, goods sent and on the road, unmet needs, and the time against the one-hour target."""
    incident = _incident(incident_id)
    wanted = _format()
    if wanted == "xlsx":
        raise ValidationError({"format": _("首报只有打印页和 PDF")})
    data = queries.first_report(incident, user=current_user,
                                sequence=queries.report_sequence(request.args.get("sequence")))
    if wanted == "pdf":
        return _pdf(lambda: sheet_pdf.first_report(data), kind=str(data["title"]), ascii_kind="first-report",
                    incident=incident)
    return render_template("dispatch/first_report.html", incident=incident, data=data,
                           facts=sheets.facts(incident), when=sheets.when)


@blueprint.get(f"{ONE}/replenishment")
@login_required
def replenishment(incident_id):
    """补库清单: what to buy so every site the incident drew on meets its norms again."""
    incident = _incident(incident_id)
    wanted = _format()
    plan = queries.replenishment(incident, user=current_user)
    at = clock.now()
    naming = {"kind": _("补库清单"), "ascii_kind": "replenishment", "incident": incident}
    if wanted == "pdf":
        return _pdf(lambda: sheet_pdf.replenishment(plan, at), **naming)
    if wanted == "xlsx":
        return _download(sheets.replenishment_workbook(plan, at), extension=".xlsx", **naming)
    return render_template("dispatch/replenishment.html", incident=incident, plan=plan, at=at,
                           facts=sheets.facts(incident))
