"""The paper of a stocktake: the 盘点表 (count sheet, blind: anyone who may see the stocktake)
and the 差异表 (variance sheet: reviewers only), each as a print page, an A4 PDF and Excel."""

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.auth.access import authorize
from inventory.reports.files import download, rendered_pdf
from inventory.stocktakes import sheets
from inventory.stocktakes.sheets import pdf as sheet_pdf
from inventory.stocktakes.views.common import blueprint, stocktake_or_404


def _file(document: bytes, kind: str, what: str, ascii_kind: str, stocktake, extension: str):
    """The sheet named for what it holds, e.g. 盘点表-PD-2026-000001-新坝镇储备室.pdf
    (count-sheet-PD-2026-000001.pdf for clients that cannot read RFC 5987)."""
    return download(document, parts=(kind, stocktake.number, stocktake.site.name, what),
                    ascii_parts=(ascii_kind, stocktake.number), extension=extension)


def _pdf(render) -> bytes:
    return rendered_pdf(render, what="stocktake")


# --- 盘点表: blind, for anyone who may see the stocktake ---------------------------------------------

@blueprint.get("/<int(max=2147483647):stocktake_id>/count-sheet")
@login_required
def count_sheet(stocktake_id):
    """盘点表 to print: each line's QR code, label, material, lot and expiry, a blank count
    column, empty rows for found goods, and signature lines — never the books' quantities."""
    stocktake = stocktake_or_404(stocktake_id)
    return render_template("stocktakes/count_sheet.html", stocktake=stocktake,
                           rows=sheets.count_rows(stocktake), found_rows=sheets.FOUND_ROWS,
                           counters=sheets.counters(stocktake), witness=sheets.witness(stocktake),
                           scope=sheets.scope(stocktake))


@blueprint.get("/<int(max=2147483647):stocktake_id>/count-sheet.pdf")
@login_required
def count_sheet_pdf(stocktake_id):
    """盘点表 as an A4 PDF: the header row on every page, 第 n 页 共 m 页."""
    stocktake = stocktake_or_404(stocktake_id)
    rows = sheets.count_rows(stocktake)
    return _file(_pdf(lambda: sheet_pdf.count_sheet(stocktake, rows)),
                 _("盘点表"), "", "count-sheet", stocktake, ".pdf")


@blueprint.get("/<int(max=2147483647):stocktake_id>/count-sheet.xlsx")
@login_required
def count_sheet_xlsx(stocktake_id):
    """盘点表 as Excel, with an empty 实盘数量 column."""
    stocktake = stocktake_or_404(stocktake_id)
    return _file(sheets.count_workbook(stocktake, sheets.count_rows(stocktake)),
                 _("盘点表"), "", "count-sheet", stocktake, ".xlsx")


# --- 差异表: the books beside the counts, for reviewers ---------------------------------------------

def _variance_sheet(stocktake_id) -> sheets.VarianceSheet:
    """The variance sheet of a stocktake the user may review (403 for a counter, who is blind)."""
    stocktake = stocktake_or_404(stocktake_id)
    authorize(current_user, "stocktakes.review", stocktake.site,
              message=_("差异表含账面数量，只有审核人可以查看"))
    return sheets.variance_sheet(stocktake, everything=request.args.get("all") == "1")


def _what(sheet: sheets.VarianceSheet) -> str:
    return _("全部明细") if sheet.everything else ""


@blueprint.get("/<int(max=2147483647):stocktake_id>/variance-sheet")
@login_required
def variance_sheet(stocktake_id):
    """差异表 to print: each line with a variance (?all=1: every line), its value, the reason,
    the totals, the found goods, the approval — a draft (待审批) until approved."""
    sheet = _variance_sheet(stocktake_id)
    return render_template("stocktakes/variance_sheet.html", sheet=sheet, stocktake=sheet.stocktake,
                           approval=sheets.approval(sheet.stocktake),
                           counters=sheets.counters(sheet.stocktake),
                           witness=sheets.witness(sheet.stocktake), scope=sheets.scope(sheet.stocktake),
                           money=sheets.money, person=sheets.person)


@blueprint.get("/<int(max=2147483647):stocktake_id>/variance-sheet.pdf")
@login_required
def variance_sheet_pdf(stocktake_id):
    """差异表 as an A4 PDF."""
    sheet = _variance_sheet(stocktake_id)
    return _file(_pdf(lambda: sheet_pdf.variance_sheet(sheet)),
                 _("差异表"), _what(sheet), "variance-sheet", sheet.stocktake, ".pdf")


@blueprint.get("/<int(max=2147483647):stocktake_id>/variance-sheet.xlsx")
@login_required
def variance_sheet_xlsx(stocktake_id):
    """差异表 as Excel: numbers as numbers, the totals below the lines."""
    sheet = _variance_sheet(stocktake_id)
    return _file(sheets.variance_workbook(sheet),
                 _("差异表"), _what(sheet), "variance-sheet", sheet.stocktake, ".xlsx")
