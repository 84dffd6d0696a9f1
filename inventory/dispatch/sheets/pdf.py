"""The incident's paper as A4 PDFs (ReportLab, WenQuanYi embedded as for labels: labels/pdf.py):
the report (landscape: ten figures a row), the 首报/续报 sheet (one page, portrait) and the
replenishment list.

Laid out with ReportLab's platypus: its tables repeat their header row on every page they run
onto and wrap CJK text inside a cell (``wordWrap="CJK"``), which is all these sheets need; the
stocktake sheets draw their own because 5,000 QR codes must be fast (stocktakes/sheets/pdf.py).
"""

import io
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from inventory.dispatch import sheets
from inventory.dispatch.queries import FIGURES, OWNED_FIGURES, Replenishment, Report
from inventory.labels import pdf


def _styles() -> dict[str, ParagraphStyle]:
    """The sheets' text styles, the CJK font registered first (raises labels.pdf.FontMissing):
    platypus reads a font's family when a paragraph is made, so the one face stands for all four."""
    pdf.register_font()
    registerFontFamily(pdf.FONT, normal=pdf.FONT, bold=pdf.FONT, italic=pdf.FONT, boldItalic=pdf.FONT)
    base = ParagraphStyle("cell", fontName=pdf.FONT, fontSize=8, leading=10, wordWrap="CJK")
    return {
        "cell": base,
        "number": ParagraphStyle("number", parent=base, alignment=2),
        "org": ParagraphStyle("org", parent=base, fontSize=11, leading=14, alignment=1),
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=22, alignment=1),
        "heading": ParagraphStyle("heading", parent=base, fontSize=10.5, leading=14, spaceBefore=6,
                                  spaceAfter=3),
        "text": ParagraphStyle("text", parent=base, fontSize=9.5, leading=13),
        "big": ParagraphStyle("big", parent=base, fontSize=11, leading=15),
    }


def _p(text, style) -> Paragraph:
    """Text in a paragraph; what a user typed is escaped (platypus reads markup)."""
    return Paragraph(escape(str(text)), style)


def _table(headers: list[str], rows: list[list], widths: list[float], styles, *, numbers_from: int) -> Table:
    """A table whose header repeats on each page; columns from ``numbers_from`` on right-aligned."""
    def cell(index, value):
        return _p(value, styles["number"] if index >= numbers_from else styles["cell"])
    data = [[_p(title, styles["cell"]) for title in headers]]
    data += [[cell(index, value) for index, value in enumerate(row)] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    commands = [("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
    table.setStyle(TableStyle(commands))
    return table


def _facts(pairs: list[tuple[str, str]], width: float, styles) -> Table:
    """Facts two to a line: caption：value."""
    cells = [_p(f"{caption}：{value or '—'}", styles["text"]) for caption, value in pairs]
    if len(cells) % 2:
        cells.append("")
    table = Table([cells[index:index + 2] for index in range(0, len(cells), 2)],
                  colWidths=[width / 2] * 2)
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _build(story, *, title: str, pagesize, margin=12 * mm) -> bytes:
    def foot(canvas, document):
        canvas.saveState()
        canvas.setFont(pdf.FONT, 8)
        canvas.drawCentredString(pagesize[0] / 2, 7 * mm, _("第 %(n)d 页", n=document.page))
        canvas.restoreState()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=pagesize, leftMargin=margin, rightMargin=margin,
                                 topMargin=margin, bottomMargin=margin + 2 * mm, title=title,
                                 author=current_app.config["ORGANIZATION_NAME"])
    document.build(story, onFirstPage=foot, onLaterPages=foot)
    return buffer.getvalue()


def _head(title: str, styles) -> list:
    return [_p(current_app.config["ORGANIZATION_NAME"], styles["org"]), Spacer(1, 1 * mm),
            _p(title, styles["title"]), Spacer(1, 3 * mm)]


def report(report: Report) -> bytes:
    """The report: the incident's facts, per site and material, per material, other owners."""
    styles, incident = _styles(), report.incident
    pagesize = landscape(A4)
    width = pagesize[0] - 24 * mm
    names = sheets.figure_names()
    figures = [names[name] for name in FIGURES]
    story = _head(f"{incident.name} {_('物资调度统计')}", styles)
    pairs = [*sheets.facts(incident), (_("生成时间"), sheets.when(report.generated_at))]
    if report.scoped:
        pairs.append(sheets.scope_fact())
    story.append(_facts(pairs, width, styles))
    fixed = [40 * mm, 44 * mm, 12 * mm]
    number = (width - sum(fixed)) / len(FIGURES)
    story.append(_p(_("按站点（调出数计在调出站点，其余计在申报、接收或发放站点）"), styles["heading"]))
    rows = [[row.site_name, row.material_name, row.unit, *row.figures()] for row in report.rows]
    empty = [[_("暂无数据"), "", "", *[""] * len(FIGURES)]]
    story.append(_table([_("站点"), _("物资"), _("单位"), *figures], rows or empty,
                        [*fixed, *[number] * len(FIGURES)], styles, numbers_from=3))
    story.append(_p(_("按物资合计"), styles["heading"]))
    totals = [[row.material, row.material_name, row.unit, *row.figures()] for row in report.totals]
    story.append(_table([_("物资编码"), _("物资"), _("单位"), *figures],
                        totals or empty,
                        [*fixed, *[number] * len(FIGURES)], styles, numbers_from=3))
    story.append(_p(_("其中其他所有者物资（省级前置物资等）"), styles["heading"]))
    if report.owned:
        owned_fixed = [28 * mm, 40 * mm, 44 * mm, 12 * mm]
        owned_number = (width - sum(owned_fixed)) / len(OWNED_FIGURES)
        headers = [_("所有者"), _("站点"), _("物资"), _("单位"), *(names[name] for name in OWNED_FIGURES)]
        story.append(_table(headers,
                            [[sheets.owner_name(row.owner), row.site_name, row.material_name, row.unit,
                              *(getattr(row, name) for name in OWNED_FIGURES)] for row in report.owned],
                            [*owned_fixed, *[owned_number] * len(OWNED_FIGURES)], styles, numbers_from=4))
    else:
        story.append(_p(_("无"), styles["text"]))
    return _build(story, title=f"{incident.name} {_('物资调度统计')}", pagesize=pagesize)


def first_report(data: dict) -> bytes:
    """The 首报/续报 on one A4 page: facts, people, goods sent and on the road, unmet needs."""
    styles, incident = _styles(), data["incident"]
    width = A4[0] - 24 * mm
    title = f"{incident.name} {data['title']}"
    story = _head(title, styles)
    clock = data["clock"]
    story.append(_p(_("距事件发生 %(n)d 分钟（1 小时内报送）：%(state)s",
                      n=clock["minutes_since_start"], state=clock["text"]), styles["big"]))
    story.append(Spacer(1, 2 * mm))
    cut_off = "、".join(area["name"] for area in data["areas"] if area["cut_off"]) or "—"
    story.append(_facts([*sheets.facts(incident),
                         (_("受灾人口"), str(data["affected_people"])),
                         (_("紧急转移安置人数"), str(data["displaced_people"])),
                         (_("断路站点"), cut_off),
                         (_("待调度申报"), str(data["open_requests"])),
                         (_("生成时间"), sheets.when(data["generated_at"])),
                         *([sheets.scope_fact()] if data["scoped"] else [])], width, styles))
    story.append(_p(_("受灾区域"), styles["heading"]))
    story.append(_table([_("站点"), _("断路"), _("受灾人口"), _("紧急转移安置")],
                        [[area["name"], _("是") if area["cut_off"] else "", area["affected_people"],
                          area["displaced_people"]] for area in data["areas"]] or [[_("无"), "", "", ""]],
                        [width - 75 * mm, 15 * mm, 30 * mm, 30 * mm], styles, numbers_from=2))
    story.append(_p(_("已调出及在途物资"), styles["heading"]))
    story.append(_table([_("物资"), _("单位"), _("已调出"), _("在途"), _("已接收"), _("已发放")],
                        [[line["name"], line["unit"], line["dispatched"], line["in_transit"], line["received"],
                          line["issued"]] for line in data["goods"]]
                        or [[_("尚未调出物资"), "", "", "", "", ""]],
                        [width - 92 * mm, 12 * mm, 20 * mm, 20 * mm, 20 * mm, 20 * mm], styles, numbers_from=2))
    story.append(_p(_("未满足需求"), styles["heading"]))
    story.append(_table([_("站点"), _("物资"), _("单位"), _("申报"), _("未满足")],
                        [[line["site_name"], line["name"], line["unit"], line["requested"], line["quantity"]]
                         for line in data["unmet"]] or [[_("无"), "", "", "", ""]],
                        [50 * mm, width - 102 * mm, 12 * mm, 20 * mm, 20 * mm], styles, numbers_from=3))
    story.append(Spacer(1, 8 * mm))
    story.append(_facts([(_("填报人"), ""), (_("审核人"), ""), (_("联系电话"), ""), (_("报送时间"), "")],
                        width, styles))
    return _build(story, title=title, pagesize=A4)


def replenishment(plan: Replenishment) -> bytes:
    """The replenishment list: what to buy, and each site's shortfall behind it."""
    styles, incident = _styles(), plan.incident
    width = A4[0] - 24 * mm
    title = f"{incident.name} {_('补库清单')}"
    story = _head(title, styles)
    pairs = [*sheets.facts(incident), (_("生成时间"), sheets.when(plan.generated_at))]
    if not plan.finished:
        pairs.append((_("说明"), _("事件未结束，清单随调度变化")))
    story.append(_facts(pairs, width, styles))
    story.append(_p(_("采购清单"), styles["heading"]))
    story.append(_table([_("物资"), _("单位"), _("应补数量"), _("涉及站点")],
                        [["、".join(line["names"]), line["unit"], line["quantity"], line["sites"]]
                         for line in plan.purchases] or [[_("各站点均已达到定额"), "", "", ""]],
                        [width - 62 * mm, 12 * mm, 25 * mm, 25 * mm], styles, numbers_from=2))
    story.append(_p(_("各站点缺口"), styles["heading"]))
    story.append(_table([_("站点"), _("定额"), _("定额数量"), _("现有可用"), _("缺口")],
                        [[row["site_name"], row["name"], row["required"], row["usable"], row["shortfall"]]
                         for row in plan.rows] or [[_("无"), "", "", "", ""]],
                        [50 * mm, width - 110 * mm, 20 * mm, 20 * mm, 20 * mm], styles, numbers_from=2))
    return _build(story, title=title, pagesize=A4)
