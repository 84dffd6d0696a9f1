"""Scanning and labels: /s/<label> (what any phone camera opens), the in-app scanner, QR images
and label sheets as PDF."""


import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import authorize, authorize_or_hide
from inventory.catalog.models import Material
from inventory.db import db
from inventory.errors import NotFound, Unavailable, ValidationError
from inventory.labels import pdf, qr
from inventory.labels.codes import format_label, normalize_label
from inventory.sites.queries import visible_sites
from inventory.sites.services import get_site
from inventory.stock import queries
from inventory.stock.models import STATUSES, Receipt, StockItem
from inventory.stock.views.common import scanned_item

blueprint = Blueprint("labels", __name__)

# A label sheet is for a storeroom shelf, not the whole province; more must be filtered first.
MAX_LABELS = 2000
LAYOUT_NAMES = {"a4": "A4 3×8（70×37 毫米）", "thermal": "热敏标签 50×30 毫米"}


@blueprint.get("/s/<label>")
@login_required
def scan(label):
    """What a scanned label opens: the item, its state, and big buttons for what one may do."""
    try:
        item = scanned_item(label)
    except NotFound:
        return render_template("labels/unknown.html", label=label), 404
    if item.label != label:
        return redirect(url_for("labels.scan", label=item.label))
    return render_template("labels/scan.html", item=item, loans=queries.open_loans_of(item),
                           today=clock.today())


@blueprint.get("/s/site/<code>")
@login_required
def scan_site(code):
    """A storeroom door's label opens the site's stock."""
    site = get_site(code)
    authorize_or_hide(current_user, "stock.view", site)
    return redirect(url_for("stock.index", site=site.code))


@blueprint.get("/scan")
@login_required
def scanner():
    """The in-app scanner: the phone camera, or a label typed by hand."""
    g.camera = True
    return render_template("labels/scanner.html")


@blueprint.get("/scan/lookup/<label>")
@login_required
def lookup(label):
    """What a scanned label is, for the running list of a form being filled in by scanning."""
    try:
        item = scanned_item(label)
    except NotFound:
        return jsonify(error=_("未知或无权查看的标签")), 404
    return jsonify(label=item.label, material=item.material.name, unit=item.material.unit,
                   quantity=item.quantity, status=item.status, site=item.site.code,
                   serial=item.serial, lot=item.lot)


@blueprint.get("/labels/qr/<label>.svg")
@login_required
def qr_image(label):
    """The QR code of an item's scan URL, for its page."""
    item = scanned_item(label)
    return Response(qr.svg(qr.scan_url(item.label)), mimetype="image/svg+xml")


def label_text(item: StockItem) -> pdf.LabelText:
    """What an item's label says."""
    details = [item.material.spec] if item.material.spec else []
    if item.serial:
        details.append(_("序列号 %(serial)s", serial=item.serial))
    elif item.lot:
        details.append(_("批号 %(lot)s", lot=item.lot))
    if item.expiry_date:
        details.append(_("有效期至 %(date)s", date=item.expiry_date.isoformat()))
    details.append(item.site.name)
    return pdf.LabelText(payload=qr.scan_url(item.label), name=item.material.name,
                         details=tuple(details), code=format_label(item.label))


def _layout() -> str:
    layout = request.args.get("format", "a4")
    return layout if layout in pdf.LAYOUTS else "a4"


def _font_missing() -> Unavailable:
    current_app.logger.error("no CJK font for label PDFs: apt-get install fonts-wqy-zenhei")
    return Unavailable(_("服务器缺少中文字体，无法生成标签（请安装 fonts-wqy-zenhei）"))


def _pdf_response(items, name: str):
    if not items:
        raise NotFound()
    if len(items) > MAX_LABELS:
        too_many = _("一次最多打印 %(n)d 张标签，请按物资或状态筛选", n=MAX_LABELS)
        raise ValidationError({"labels": too_many}, message=too_many)
    try:
        document = pdf.render([label_text(item) for item in items], _layout())
    except pdf.FontMissing:
        raise _font_missing() from None
    return Response(document, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}.pdf"'})


@blueprint.get("/labels/receipt/<number>.pdf")
@login_required
def receipt_labels(number):
    """Labels for everything a receipt filled, printed right after receiving."""
    receipt = queries.get_document(Receipt, number)
    authorize(current_user, "stock.view", receipt.site)
    return _pdf_response(queries.document_items(number), f"labels-{number}")


@blueprint.get("/labels/items.pdf")
@login_required
def item_labels():
    """Labels for chosen items of a site: all, or by material, by status, or by label list."""
    site = get_site(request.args.get("site", ""))
    authorize(current_user, "stock.view", site)
    material = db.session.scalar(sa.select(Material).where(
        Material.code == request.args.get("material", ""))) if request.args.get("material") else None
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    query = queries.stock_items(current_user, site=site, material=material, status=status)
    if labels := request.args.getlist("label"):
        query = query.where(StockItem.label.in_([normalize_label(x) for x in labels]))
    items = db.session.scalars(query.limit(MAX_LABELS + 1)).all()
    return _pdf_response(items, f"labels-{site.code}")


@blueprint.get("/labels/site/<code>.pdf")
@login_required
def site_label(code):
    """A label for the storeroom door: its QR opens the site's stock."""
    site = get_site(code)
    authorize(current_user, "stock.view", site)
    text = pdf.LabelText(payload=qr.site_scan_url(site.code), name=site.name,
                         details=(site.address,) if site.address else (), code=site.code)
    try:
        document = pdf.render([text], _layout())
    except pdf.FontMissing:
        raise _font_missing() from None
    return Response(document, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="site-{site.code}.pdf"'})


@blueprint.get("/labels/")
@login_required
def index():
    """Choose which labels to print: a site, then all its items or some of them."""
    sites = db.session.scalars(visible_sites(current_user, include_inactive=False,
                                             details=False)).all()
    materials = db.session.scalars(sa.select(Material).where(Material.active.is_(True))
                                   .order_by(Material.code)).all()
    return render_template("labels/index.html", sites=sites, materials=materials,
                           layouts=LAYOUT_NAMES, chosen=request.args.get("site", ""))
