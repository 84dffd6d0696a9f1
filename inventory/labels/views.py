"""Scanning and labels: /s/<label> (what any phone camera opens), the in-app scanner, QR images
and label sheets as PDF."""

import re
from urllib.parse import quote

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import authorize, authorize_or_hide, can
from inventory.catalog.models import Material
from inventory.db import db
from inventory.errors import NotFound, Unavailable, ValidationError
from inventory.labels import pdf, qr, services
from inventory.labels.codes import LABEL_LENGTH, format_label, normalize_label, one_slip_apart
from inventory.sites.models import Site
from inventory.sites.queries import visible_sites
from inventory.sites.services import get_site
from inventory.stock import queries
from inventory.stock import services as stock_services
from inventory.stock.models import STATUS_NAMES, STATUSES, Receipt, StockItem
from inventory.stock.views.common import scanned_item
from inventory.templating import unit_name
from inventory.validation import Integer, Invalid

blueprint = Blueprint("labels", __name__)
blueprint.add_app_template_global(services.receipt_copies)  # labels/_receipt_print.html

# A label sheet is for a storeroom shelf, not the whole province; more must be filtered first.
# (Never fewer than LABEL_COPIES_LIMIT: one item at the most copies allowed always prints.)
MAX_LABELS = 2000
LAYOUT_NAMES = {"a4": "A4 3×8（70×37 毫米）", "thermal": "热敏标签 50×30 毫米"}
# What a PDF's file name calls its layout.
LAYOUT_WORDS = {"a4": "A4", "thermal": _l("热敏")}


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
    """What a scanned or typed label is, for the card of a line form being filled in (JSON).

    An unknown label (or one the user may not see: the same answer) counts towards the
    label-guessing limit like any miss; with ``?site=`` it may come with a near miss among that
    site's own labels, which the user may see anyway: one slip of the hand from what was typed.
    """
    try:
        item = scanned_item(label)
    except NotFound:
        return jsonify(error=_("未知或无权查看的标签"), suggestion=_near_miss(label)), 404
    today = clock.today()
    usable = (item.status == "available" and item.quantity > 0
              and not (item.expiry_date and item.expiry_date < today))
    return jsonify(label=item.label, label_text=format_label(item.label), material=item.material.name,
                   unit=unit_name(item.material.unit), quantity=item.quantity, status=item.status,
                   status_name=str(STATUS_NAMES[item.status]), site=item.site.code,
                   site_name=item.site.name, serial=item.serial, lot=item.lot,
                   expiry=item.expiry_date.isoformat() if item.expiry_date else None,
                   returnable=item.material.returnable, usable=usable)


def _near_miss(typed: str) -> dict | None:
    """A label of ``?site=`` one slip from ``typed``, with its material; None when none is."""
    code = request.args.get("site", "")
    typed = normalize_label(typed)
    if not code or len(typed) != LABEL_LENGTH:
        return None
    site = db.session.scalar(sa.select(Site).where(Site.code == code))
    if site is None or not can(current_user, "stock.view", site):
        return None
    close = [known for known in queries.labels_at(site) if one_slip_apart(typed, known)]
    if len(close) != 1:
        return None  # two candidates: a guess either way would mislead
    item = stock_services.visible_item(current_user, close[0])
    return {"label": item.label, "label_text": format_label(item.label), "material": item.material.name}


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


def _whole_number(name: str, low: int, high: int, problem: str) -> int | None:
    """The whole number ``low``..``high`` sent as ``name`` (a phone's full-width digits too), None
    if left blank. Raises ValidationError with ``problem`` when it is anything else."""
    reader = Integer(minimum=low, maximum=high)
    try:
        value = reader.from_text(request.args.get(name))
        return None if value is None else reader.convert(value)
    except Invalid:
        raise ValidationError({name: problem}, message=problem) from None


def _sheet() -> tuple[str, int]:
    """The layout asked for (A4 unless thermal) and the A4 cell to start at (1 unless told).

    Raises ValidationError for a start cell that is not on the sheet."""
    layout = request.args.get("format", "a4")
    layout = layout if layout in pdf.LAYOUTS else "a4"
    cells = pdf.LAYOUTS[layout].per_page
    if cells == 1:
        return layout, 1  # thermal labels come one by one: no cell to start at
    problem = _("起始格须为 1 到 %(n)d 之间的整数（从左到右、从上到下数）", n=cells)
    return layout, _whole_number("start", 1, cells, problem) or 1


def _max_labels() -> int:
    return max(MAX_LABELS, current_app.config["LABEL_COPIES_LIMIT"])


def _font_missing() -> Unavailable:
    current_app.logger.error("no CJK font for label PDFs: apt-get install fonts-wqy-zenhei")
    return Unavailable(_("服务器缺少中文字体，无法生成标签（请安装 fonts-wqy-zenhei）"))


# Characters a file name may not hold on Windows, Android or a USB stick, and runs of spaces.
_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f\s]+')
_UNSAFE_IN_ASCII = re.compile(r"[^A-Za-z0-9._-]+")


def content_disposition(what: list[str], ascii_what: list[str], count: int, layout: str) -> str:
    """An inline Content-Disposition whose file name says what the PDF holds, e.g.
    标签-RK-2026-000001-瓶装饮用水-50张-A4.pdf, with an ASCII name for clients that cannot read
    RFC 5987 (labels-RK-2026-000001-50-a4.pdf)."""
    parts = [_("标签"), *what, _("%(n)d张", n=count), str(LAYOUT_WORDS[layout])]
    name = "-".join(_UNSAFE_IN_NAMES.sub("_", part).strip("_") for part in parts if part) + ".pdf"
    fallback = "-".join(_UNSAFE_IN_ASCII.sub("_", part).strip("_")
                        for part in ["labels", *ascii_what, str(count), layout] if part) + ".pdf"
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _pdf_response(texts: list[pdf.LabelText], disposition: str, layout: str, start: int) -> Response:
    try:
        document = pdf.render(texts, layout, start)
    except pdf.FontMissing:
        raise _font_missing() from None
    return Response(document, mimetype="application/pdf",
                    headers={"Content-Disposition": disposition})


def _too_many(problem: str) -> ValidationError:
    return ValidationError({"labels": problem}, message=problem)


@blueprint.get("/labels/receipt/<number>.pdf")
@login_required
def receipt_labels(number):
    """Labels for everything a receipt filled, printed right after receiving: each item as many
    times as asked (``copies``, by default one per box of a lot), from cell ``start`` of an A4 sheet."""
    receipt = queries.get_document(Receipt, number)
    authorize(current_user, "stock.view", receipt.site)
    items = queries.document_items(number)
    if not items:
        raise NotFound()
    layout, start = _sheet()
    offer = services.receipt_copies(receipt, items)
    copies = _whole_number("copies", 1, offer.limit,
                           _("标签张数须为 1 到 %(n)d 之间的整数", n=offer.limit)) or offer.copies
    if copies * len(items) > _max_labels():
        raise _too_many(_("一次最多打印 %(n)d 张标签，请减少张数", n=_max_labels()))
    texts = [text for item in items for text in [label_text(item)] * copies]
    disposition = content_disposition([number, receipt.material.name], [number], len(texts), layout)
    return _pdf_response(texts, disposition, layout, start)


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
    items = db.session.scalars(query.limit(_max_labels() + 1)).all()
    if not items:
        raise NotFound()
    if len(items) > _max_labels():
        raise _too_many(_("一次最多打印 %(n)d 张标签，请按物资或状态筛选", n=_max_labels()))
    layout, start = _sheet()
    disposition = content_disposition(
        [site.code, material.name if material else "", str(STATUS_NAMES[status]) if status else ""],
        [site.code, material.code if material else "", status or ""], len(items), layout)
    return _pdf_response([label_text(item) for item in items], disposition, layout, start)


@blueprint.get("/labels/site/<code>.pdf")
@login_required
def site_label(code):
    """A label for the storeroom door: its QR opens the site's stock."""
    site = get_site(code)
    authorize(current_user, "stock.view", site)
    layout, start = _sheet()
    text = pdf.LabelText(payload=qr.site_scan_url(site.code), name=site.name,
                         details=(site.address,) if site.address else (), code=site.code)
    disposition = content_disposition([_("门牌二维码"), site.code, site.name], ["site", site.code], 1, layout)
    return _pdf_response([text], disposition, layout, start)


@blueprint.get("/labels/")
@login_required
def index():
    """Choose which labels to print: a site, then all its items or some of them."""
    sites = db.session.scalars(visible_sites(current_user, include_inactive=False,
                                             details=False)).all()
    materials = db.session.scalars(sa.select(Material).where(Material.active.is_(True))
                                   .order_by(Material.code)).all()
    return render_template("labels/index.html", sites=sites, materials=materials,
                           layouts=LAYOUT_NAMES, chosen=request.args.get("site", ""),
                           cells=pdf.LAYOUTS["a4"].per_page)
