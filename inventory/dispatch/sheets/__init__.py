"""The paper of an incident: the report (per site and material), the 首报/续报 sheet and the
replenishment list — their captions and rows, shared by the print pages, the PDFs (sheets/pdf.py)
and the Excel workbooks made here (numbers stay numbers; text never becomes a formula).
"""

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _

from inventory.dispatch.models import LEVEL_NAMES, STATUS_NAMES, TYPE_NAMES, Incident
from inventory.dispatch.queries import FIGURES, OWNED_FIGURES, Replenishment, Report
from inventory.dispatch.sources import BUREAU
from inventory.reports.spreadsheets import Sheet, workbooks


def figure_names() -> dict[str, str]:
    """Each figure's caption, in the page's language."""
    return {"requested": _("申报"), "planned": _("已计划"), "dispatched": _("已调出"),
            "in_transit": _("在途"), "received": _("已接收"), "shortage": _("短少"),
            "issued": _("已发放"), "returned": _("已归还"), "outstanding_loans": _("未归还借用"),
            "unmet": _("未满足")}


def when(at, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    return format_datetime(at, pattern) if at else ""


def facts(incident: Incident) -> list[tuple[str, str]]:
    """The incident's head: (caption, value) pairs."""
    return [(_("事件"), incident.name), (_("类型"), str(TYPE_NAMES[incident.type])),
            (_("响应级别"), str(LEVEL_NAMES[incident.level])),
            (_("发生时间"), when(incident.started_at)),
            (_("状态"), str(STATUS_NAMES[incident.status])),
            (_("受灾区域"), "、".join(entry.site.name for entry in incident.areas) or "—")]


def scope_fact() -> tuple[str, str]:
    """What a keeper's (or auditor's) sheet says of its figures: their own sites only."""
    return _("范围"), _("仅含您负责的站点")


def owner_name(owner: str) -> str:
    return _("本局") if owner == BUREAU else owner


# --- Excel ---------------------------------------------------------------------------------------

def _title(incident: Incident, what: str) -> str:
    return f"{current_app.config['ORGANIZATION_NAME']} {incident.name} {what}"


def _note(incident: Incident, at, scoped: bool = False) -> str:
    parts = [f"{caption}：{value}" for caption, value in facts(incident)[1:5]]
    parts.append(_("生成时间：%(at)s", at=when(at)))
    if scoped:
        parts.append("：".join(scope_fact()))
    return " · ".join(parts)


def report_workbook(report: Report) -> bytes:
    """The report as Excel: per site and material, per material (totals), other owners' goods."""
    names = figure_names()
    figures = [names[name] for name in FIGURES]
    by_site = Sheet(_("按站点"), [_("站点编码"), _("站点"), _("物资编码"), _("物资名称"), _("单位"), *figures],
                    [[row.site, row.site_name, row.material, row.material_name, row.unit, *row.figures()]
                     for row in report.rows], [12, 20, 12, 22, 6, *[10] * len(FIGURES)])
    by_material = Sheet(_("按物资"), [_("物资编码"), _("物资名称"), _("单位"), *figures],
                        [[row.material, row.material_name, row.unit, *row.figures()] for row in report.totals],
                        [12, 22, 6, *[10] * len(FIGURES)])
    owned = Sheet(_("其他所有者物资"),
                  [_("所有者"), _("站点编码"), _("站点"), _("物资编码"), _("物资名称"), _("单位"),
                   *(names[name] for name in OWNED_FIGURES)],
                  [[owner_name(row.owner), row.site, row.site_name, row.material, row.material_name, row.unit,
                    *(getattr(row, name) for name in OWNED_FIGURES)] for row in report.owned],
                  [16, 12, 20, 12, 22, 6, *[10] * len(OWNED_FIGURES)])
    return workbooks([by_site, by_material, owned], title=_title(report.incident, _("物资调度统计")),
                     note=_note(report.incident, report.generated_at, report.scoped))


def replenishment_workbook(plan: Replenishment) -> bytes:
    """The replenishment list as Excel: what to buy, then each site's shortfall behind it."""
    buy = Sheet(_("采购清单"), [_("物资编码"), _("物资名称"), _("单位"), _("应补数量"), _("涉及站点数")],
                [["、".join(line["materials"]), "、".join(line["names"]), line["unit"], line["quantity"],
                  line["sites"]] for line in plan.purchases], [14, 26, 6, 12, 12])
    sites = Sheet(_("按站点"),
                  [_("站点编码"), _("站点"), _("定额"), _("物资"), _("定额数量"), _("现有可用"), _("缺口")],
                  [[row["site"], row["site_name"], row["name"], "、".join(row["material_names"]),
                    row["required"], row["usable"], row["shortfall"]] for row in plan.rows],
                  [12, 20, 24, 24, 10, 10, 10])
    note = _note(plan.incident, plan.generated_at, plan.scoped)
    if not plan.finished:
        note += " · " + _("事件未结束，清单随调度变化")
    return workbooks([buy, sites], title=_title(plan.incident, _("补库清单")), note=note)
