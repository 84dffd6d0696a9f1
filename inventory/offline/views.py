"""The offline feature's pages: a user's registered phones, the paper forms to write on when the
power is out too, and the operations a sync held for a manager to apply with a correction or
reject."""

from flask import Blueprint, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.api.offline import KINDS
from inventory.auth.access import authorize, can, is_scoped
from inventory.db import db
from inventory.errors import BadRequest, InsufficientStock, InvalidState, ValidationError
from inventory.forms import ConfirmForm, page_number, press
from inventory.offline import paper, queries, services, sync
from inventory.offline.forms import ResolutionForm
from inventory.offline.models import CONFLICT_STATUSES
from inventory.reports.files import download, rendered_pdf
from inventory.sites.services import get_site
from inventory.stocktakes.models import Stocktake
from inventory.validation import Integer, Invalid

blueprint = Blueprint("offline", __name__, url_prefix="/offline")
# What a manager's decision may meet: the note missing, the stock moved again, someone else first.
RESOLUTION_REFUSALS = (ValidationError, InvalidState, InsufficientStock)
PER_PAGE = 50
# Who may print which paper form at a site: whoever may do there what its rows record.
PAPER_PERMISSIONS = {"issue": "stock.issue", "return": "stock.return", "count": "stocktakes.count"}


@blueprint.get("/devices")
@login_required
def devices():
    """离线设备: the user's phones registered for working offline (an admin sees everyone's),
    newest first; revoke one, or, as an admin, report one lost. And the paper forms of the
    user's sites (or, for an admin or a manager, of the site ``?site=`` names)."""
    page = db.paginate(queries.devices(current_user), page=page_number(), per_page=PER_PAGE, error_out=False)
    code = request.args.get("site", "").strip()[:40]
    sites = queries.paper_sites(current_user, code)
    paper_forms = {"sites": sites, "code": code, "permissions": PAPER_PERMISSIONS,
                   # An admin or a manager works anywhere: the page asks which site.
                   "anywhere": not is_scoped(current_user) and any(
                       can(current_user, permission) for permission in PAPER_PERMISSIONS.values()),
                   "unknown": bool(code) and code not in {site.code for site, _counting in sites}}
    return render_template("offline/devices.html", page=page, confirm=ConfirmForm(), paper=paper_forms)


@blueprint.post("/devices/new")
@login_required
def register_device():
    """登记本机, for the devices page's script: the phone's token as JSON, which the script keeps in
    the phone's IndexedDB (never shown), with the user and the sites the offline app works at."""
    if g.get("form_expired"):  # a page left open past its token's life: refused as a button is
        raise BadRequest()
    try:
        token, device = services.register_device(actor=current_user,
                                                 data={"name": (request.form.get("name") or "").strip()})
    except ValidationError as error:
        return jsonify(error={"code": error.code, "message": "；".join(error.details.values()),
                              "details": error.details}), 422
    return jsonify(id=device.id, name=device.name, token=token, expires_at=device.expires_at.isoformat(),
                   user=current_user.username, sites=[site.code for site in current_user.sites]), 201


@blueprint.post("/devices/<int(max=2147483647):device_id>/revoke")
@login_required
def revoke_device(device_id):
    """注销: its token answers 401 from now on."""

    def work():
        services.revoke_device(actor=current_user, device_id=device_id)
        return url_for("offline.devices")

    return press(ConfirmForm(), work, done=_("已注销设备"), back=url_for("offline.devices"),
                 refused=(InvalidState,))


@blueprint.post("/devices/<int(max=2147483647):device_id>/lost")
@login_required
def mark_device_lost(device_id):
    """挂失 (admins): cleared at its next contact; what it sends is held for review."""

    def work():
        services.mark_lost(actor=current_user, device_id=device_id)
        return url_for("offline.devices")

    return press(ConfirmForm(), work, done=_("已挂失设备"), back=url_for("offline.devices"),
                 refused=(InvalidState,))


@blueprint.get("/paper/<code>/<any(issue, return, count):form>")
@login_required
def paper_form(code, form):
    """纸质单 (三断): a site's 发放登记单 (``?pages=`` of blank rows), 借用归还单 or 盘点清点单
    (``?stocktake=``, being counted at the site) as an A4 PDF, each row's QR code with an
    operation key made now; never kept by a cache, so that each print has keys of its own."""
    site = get_site(code)
    authorize(current_user, PAPER_PERMISSIONS[form], site)
    stocktake = None
    if form == "count" and (stocktake := _stocktake_to_count(site)) is None:
        counting = db.session.scalars(queries.counting_at(site)).unique().all()
        message = (_("%(site)s 没有正在清点的盘点单：盘点单开单后才能打印盘点清点单", site=site.name)
                   if not counting else _("请选择 %(site)s 正在清点的盘点单", site=site.name))
        return render_template("offline/paper_unavailable.html", site=site, stocktakes=counting,
                               message=message), 409
    pages = 1
    if form == "issue":
        pages = _whole_number("pages", paper.MAX_ISSUE_PAGES, _("页数须为 1 到 %(n)d 之间的整数",
                                                                 n=paper.MAX_ISSUE_PAGES)) or 1
    position, rows = queries.paper_rows(current_user, site, form, stocktake)
    draw = {"issue": lambda: paper.issue_form(site, position=position, pages=pages),
            "return": lambda: paper.return_form(site, position=position, loans=rows),
            "count": lambda: paper.count_form(site, stocktake=stocktake, position=position, items=rows)}[form]
    response = download(rendered_pdf(draw, what="paper form"), parts=(str(paper.FORM_NAMES[form]), site.code,
                                                                      site.name),
                        ascii_parts=("paper", form, site.code), extension=".pdf")
    # The global no-store too, said here for its own reason: a print from a cached copy would
    # repeat another print's keys, and a row of it would count as a row already entered.
    response.headers["Cache-Control"] = "no-store"
    return response


def _whole_number(name: str, maximum: int, problem: str) -> int | None:
    """The whole number 1 … ``maximum`` sent as ``name``, None if not sent; ValidationError
    saying ``problem`` for anything else."""
    reader = Integer(minimum=1, maximum=maximum)
    try:
        value = reader.from_text(request.args.get(name))
        return None if value is None else reader.convert(value)
    except Invalid:
        raise ValidationError({name: problem}, message=problem) from None


def _stocktake_to_count(site) -> Stocktake | None:
    """The ``?stocktake=`` being counted at ``site``; None when it names none of them."""
    reader = Integer(minimum=1, maximum=sync.MAX_ROW_ID)
    try:
        stocktake = db.session.get(Stocktake, reader.convert(reader.from_text(request.args.get("stocktake"))))
    except Invalid:
        return None
    if stocktake is None or stocktake.site_id != site.id or stocktake.status != "counting":
        return None
    return stocktake


@blueprint.get("/conflicts")
@login_required
def conflicts():
    """待处理离线记录: what a sync could not apply as it stood, at the manager's sites, oldest
    first, each with what the keeper recorded, why it was held and the two decisions."""
    authorize(current_user, "sync.resolve")
    status = request.args.get("status") if request.args.get("status") in CONFLICT_STATUSES else "open"
    page = db.paginate(queries.conflicts(current_user, status=status), page=page_number(), per_page=PER_PAGE,
                       error_out=False)
    # A form each: each carries its own key, so deciding one never replays another's decision.
    forms = {conflict.id: ResolutionForm() for conflict in page.items if conflict.status == "open"}
    return render_template("offline/conflicts.html", page=page, status=status, forms=forms,
                           recorded_lines=queries.recorded_lines)


@blueprint.post("/conflicts/<int(max=2147483647):conflict_id>/resolve")
@login_required
def resolve_conflict(conflict_id):
    """更正后入账 or 驳回, with a note; a refusal is said on the list, which is shown again."""
    authorize(current_user, "sync.resolve")
    form = ResolutionForm()
    action = "apply_with_correction" if form.apply.data else "reject"

    def work():
        note = (form.note.data or "").strip()
        if not note:
            raise ValidationError({"note": _("请填写处理说明：保管员会看到它")})
        sync.resolve(actor=current_user, conflict_id=conflict_id, kinds=KINDS,
                     data={"action": action, "note": note})
        return url_for("offline.conflicts")

    return press(form, work, done=_("已更正并入账") if action == "apply_with_correction" else _("已驳回"),
                 back=url_for("offline.conflicts"), once=True, refused=RESOLUTION_REFUSALS)
