"""Stock pages: a site's stock, an item and its history, receive, issue, loans and returns,
transfers, adjustments, the ledger, and printable issue slips and transfer notes."""

import datetime as dt
import re

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import authorize, authorize_somewhere, can, can_somewhere
from inventory.catalog.models import Material
from inventory.db import db
from inventory.errors import BadRequest, IdempotencyMismatch, InsufficientStock, NotFound, ValidationError
from inventory.extensions import idempotency
from inventory.forms import FORM_ERRORS, choices, collect, page_number, show_errors
from inventory.sites.models import Site
from inventory.sites.queries import visible_sites
from inventory.sites.services import get_site
from inventory.stock import queries, services
from inventory.stock import transfers as transfer_actions
from inventory.stock.forms import (
    AdjustForm,
    IssueForm,
    ReceiveForm,
    ReturnForm,
    TestForm,
    TransferActionForm,
    TransferForm,
    TransferReceiveForm,
)
from inventory.stock.models import MOVEMENT_KINDS, STATUSES, TRANSFER_STATUSES, Issue, Receipt

blueprint = Blueprint("stock", __name__, url_prefix="/stock")

EXPIRY_WINDOWS = (30, 90, 180)


# --- shared helpers ----------------------------------------------------------------------------

def _sites_for(permission: str) -> list:
    """Codes and names of the active sites where the user may do ``permission``, in tree order.

    A permission is held everywhere the user sees or nowhere (auth/access.py), so it is asked
    once; the pick list then needs two columns, not every site as an object checked one by one.
    """
    if not can_somewhere(current_user, permission):
        return []
    return db.session.execute(visible_sites(current_user, include_inactive=False, details=False)
                              .with_only_columns(Site.code, Site.name)).all()


def _site_choices(permission: str):
    return choices((site.code, f"{site.name}（{site.code}）") for site in _sites_for(permission))


def _material_names() -> list:
    """Code and "name（unit）" of every active material, by code. Every stock page and form shows
    this list: two columns with the label built by the database, not 80 materials as objects."""
    return db.session.execute(sa.select(Material.code, Material.name + "（" + Material.unit + "）")
                              .where(Material.active.is_(True)).order_by(Material.code)).all()


def _material_choices():
    return choices([("", _("— 选择物资 —")), *_material_names()])


def _site_arg(name: str = "site") -> Site | None:
    if not (code := request.args.get(name)):
        return None
    site = get_site(code)
    authorize(current_user, "stock.view", site)
    return site


def _home_site() -> Site | None:
    """The site a page opens on: ?site=, else a keeper's first own site."""
    return _site_arg() or (current_user.sites[0] if current_user.sites else None)


def _submit(form, work, *, done: str, show=show_errors):
    """Do the form's work once and redirect with ``done``; or show the errors and return None."""
    try:
        location = idempotency.submit_form(current_user, form.idempotency_key.data or None, work)
    except (*FORM_ERRORS, InsufficientStock, IdempotencyMismatch) as error:
        show(form, error)
        return None
    flash(done, "success")
    return redirect(location)


def _show_line_errors(form, error, rows: list[int]) -> None:
    """Put a service's errors on the form; ``rows`` maps the service's line index to form rows."""
    if isinstance(error, InsufficientStock):
        for short in error.details or []:
            entry = form.lines.entries[rows[short["line"]]]
            entry.form.quantity.errors = [_("库存不足：需要 %(requested)d，可用 %(available)d",
                                            requested=short["requested"],
                                            available=short["available"])]
        form.form_errors = [error.message]
        return
    if isinstance(error, ValidationError):
        remaining = {}
        for key, problem in error.details.items():
            match = re.fullmatch(r"lines\.(\d+)(?:\.(\w+))?", key)
            if match and int(match[1]) < len(rows):
                entry = form.lines.entries[rows[int(match[1])]].form
                field = entry[match[2]] if match[2] in entry._fields else entry.quantity
                field.errors = [*field.errors, problem]
            elif key.startswith("lines"):
                form.form_errors = [*form.form_errors, problem]
            else:
                remaining[key] = problem
        if remaining:
            show_errors(form, ValidationError(remaining))
        return
    show_errors(form, error)


def _line_data(form, rows: list[int], *, with_due=True) -> list[dict]:
    """The filled-in rows of a line form as service lines; ``rows`` learns which row each came from."""
    lines, errors = [], {}
    for row, entry in enumerate(form.lines.entries):
        material = (entry.form.material.data or "").strip()
        label = (entry.form.label.data or "").strip()
        quantity = (entry.form.quantity.data or "").strip()
        if not (material or label or quantity):
            continue
        line = {"label": label} if label else ({"material": material} if material else {})
        if re.fullmatch(r"\d{1,10}", quantity):
            line["quantity"] = int(quantity)
        else:
            errors[f"lines.{len(lines)}.quantity"] = _("应为正整数")
        due = (entry.form.due_back.data or "").strip() if with_due else ""
        if due:
            try:
                line["due_back"] = dt.date.fromisoformat(due)
            except ValueError:
                errors[f"lines.{len(lines)}.due_back"] = _("应为日期 YYYY-MM-DD")
        lines.append(line)
        rows.append(row)
    if errors:
        raise ValidationError(errors)
    return lines


def _whole(text) -> int | str:
    """A posted whole number as an int; anything else is passed on for the service to refuse."""
    text = (text or "").strip()
    return int(text) if re.fullmatch(r"\d{1,10}", text) else text


def _prepare_lines(form) -> None:
    materials = _material_choices()
    for entry in form.lines.entries:
        entry.form.material.choices = materials


# --- stock and items ---------------------------------------------------------------------------

@blueprint.get("/")
@login_required
def index():
    """A site's stock (or all the user's), filtered by material, status and expiry."""
    site = _home_site()
    material = db.session.scalar(sa.select(Material).where(
        Material.code == request.args.get("material", ""))) if request.args.get("material") else None
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    days = request.args.get("expiring", "")
    expiring = int(days) if days.isdigit() and int(days) in EXPIRY_WINDOWS else None
    include_sub = request.args.get("sub") == "1"
    query = queries.stock_items(
        current_user, site=site, include_sub_sites=include_sub, material=material, status=status,
        expiring_before=clock.today() + dt.timedelta(days=expiring) if expiring else None)
    page = db.paginate(query, page=page_number(), per_page=50, error_out=False)
    return render_template("stock/index.html", page=page, site=site, material=material,
                           status=status, expiring=expiring, include_sub=include_sub,
                           sites=_sites_for("stock.view"), materials=_material_names(),
                           windows=EXPIRY_WINDOWS, today=clock.today())


@blueprint.get("/summary")
@login_required
def summary():
    """Per material, at a site and below (or everywhere the user sees): on the shelf, out on
    loan, on its way here, damaged. Its own page, so the stock list a keeper opens after every
    scan does not pay for totals they seldom look at."""
    site = _home_site()
    return render_template("stock/summary.html", site=site,
                           rows=queries.stock_summary(current_user, site=site,
                                                      include_sub_sites=True))


@blueprint.get("/item/<label>")
@login_required
def item(label):
    """One item: what, where, how many, its state, and every movement."""
    stock_item = services.get_item(label)
    authorize(current_user, "stock.view", stock_item.site)
    page = db.paginate(queries.movements(current_user, item=stock_item), page=page_number(),
                       per_page=50, error_out=False)
    return render_template("stock/item.html", item=stock_item, page=page,
                           loans=queries.open_loans_of(stock_item), today=clock.today())


@blueprint.route("/item/<label>/adjust", methods=["GET", "POST"])
@login_required
def adjust(label):
    """Correct an item's quantity with a reason (write-offs need a manager)."""
    stock_item = services.get_item(label)
    authorize(current_user, "stock.adjust", stock_item.site)
    form = AdjustForm()
    if form.validate_on_submit():
        def work():
            data = collect(form, text=["reason"], optional_text=["note"], integers=["delta"])
            services.adjust(actor=current_user, data={**data, "label": stock_item.label})
            return url_for("stock.item", label=stock_item.label)

        if answer := _submit(form, work, done=_("已调整")):
            return answer
        return render_template("stock/adjust.html", form=form, item=stock_item), 422
    return render_template("stock/adjust.html", form=form, item=stock_item)


@blueprint.route("/item/<label>/test", methods=["GET", "POST"])
@login_required
def test_run(label):
    """试机: a dial test or a generator run; a fault takes the item out of service."""
    stock_item = services.get_item(label)
    authorize(current_user, "stock.test", stock_item.site)
    form = TestForm()
    if request.method == "GET":
        form.result.data = "ok"
    if form.validate_on_submit():
        def work():
            data = collect(form, text=["result"], optional_text=["note"], dates=["tested_on"])
            services.record_test(actor=current_user, data={**data, "label": stock_item.label})
            return url_for("stock.item", label=stock_item.label)

        if answer := _submit(form, work, done=_("已登记试机")):
            return answer
        return render_template("stock/test.html", form=form, item=stock_item), 422
    return render_template("stock/test.html", form=form, item=stock_item,
                           tests=queries.tests_of(stock_item))


# --- receipts ----------------------------------------------------------------------------------

@blueprint.route("/receive", methods=["GET", "POST"])
@login_required
def receive():
    """入库: a lot (added to its batch) or serial-numbered equipment, one number per line."""
    authorize_somewhere(current_user, "stock.receive")
    g.camera = True
    form = ReceiveForm()
    form.site.choices = _site_choices("stock.receive")
    form.material.choices = _material_choices()
    if request.method == "GET" and (home := _home_site()):
        form.site.data = home.code
    if form.validate_on_submit():
        def work():
            data = collect(form, text=["site", "material"], optional_text=["donor", "note"],
                           integers=["quantity"], dates=["production_date", "expiry_date"])
            data["lot"] = (form.lot.data or "").strip() or None
            data["source"] = form.source.data or None
            if serials := [s.strip() for s in (form.serials.data or "").splitlines() if s.strip()]:
                data["serials"] = serials
            receipt = services.receive(actor=current_user, data=data)
            return url_for("stock.receipt", number=receipt.number)

        if answer := _submit(form, work, done=_("已入库")):
            return answer
        return render_template("stock/receive.html", form=form), 422
    return render_template("stock/receive.html", form=form)


@blueprint.get("/receipts/<number>")
@login_required
def receipt(number):
    """A receipt and the items (labels) it filled."""
    document = db.session.scalar(sa.select(Receipt).where(Receipt.number == number))
    if document is None:
        raise NotFound()
    authorize(current_user, "stock.view", document.site)
    return render_template("stock/receipt.html", receipt=document,
                           items=queries.document_items(number))


# --- issues, loans, returns --------------------------------------------------------------------

@blueprint.route("/issue", methods=["GET", "POST"])
@login_required
def issue():
    """发放: to a household, person, unit or team; returnable materials go out on loan."""
    authorize_somewhere(current_user, "stock.issue")
    g.camera = True
    form = IssueForm()
    form.site.choices = _site_choices("stock.issue")
    _prepare_lines(form)
    if request.method == "GET":
        if home := _home_site():
            form.site.data = home.code
        if label := request.args.get("label"):
            form.lines.entries[0].form.label.data = label
            form.lines.entries[0].form.quantity.data = "1"
    if form.validate_on_submit():
        rows: list[int] = []

        def work():
            lines = _line_data(form, rows)
            document = services.issue(actor=current_user, data={
                "site": form.site.data,
                "recipient": {"type": form.recipient_type.data,
                              "name": (form.recipient_name.data or "").strip(),
                              "contact": (form.recipient_contact.data or "").strip(),
                              "id_number": (form.recipient_id_number.data or "").strip()},
                "purpose": (form.purpose.data or "").strip(),
                "lines": lines})
            return url_for("stock.issue_slip", number=document.number)

        def show(form, error):
            _show_recipient_errors(form, error)
            _show_line_errors(form, error, rows)

        if answer := _submit(form, work, done=_("已发放"), show=show):
            return answer
        return render_template("stock/issue.html", form=form), 422
    return render_template("stock/issue.html", form=form)


def _show_recipient_errors(form, error) -> None:
    if isinstance(error, ValidationError):
        for key in [k for k in error.details if k.startswith("recipient.")]:
            field = form["recipient_" + key.removeprefix("recipient.")]
            field.errors = [*field.errors, error.details.pop(key)]


@blueprint.get("/issues")
@login_required
def issues():
    """Issue documents of a site (or all the user's), newest first."""
    site = _site_arg()
    outstanding = request.args.get("outstanding") == "1"
    page = db.paginate(queries.issues(current_user, site=site, outstanding=outstanding),
                       page=page_number(), per_page=50, error_out=False)
    return render_template("stock/issues.html", page=page, site=site, outstanding=outstanding)


def _issue_document(number) -> Issue:
    document = db.session.scalar(sa.select(Issue).where(Issue.number == number))
    if document is None:
        raise NotFound()
    authorize(current_user, "stock.view", document.site)
    return document


@blueprint.get("/issues/<number>")
@login_required
def issue_slip(number):
    """发放单: printable, with the recipient's and the keeper's signature lines."""
    return render_template("stock/issue_slip.html", issue=_issue_document(number))


@blueprint.get("/loans")
@login_required
def loans():
    """Loans still out, soonest due first; overdue ones first of all when asked."""
    site = _site_arg()
    overdue = request.args.get("overdue") == "1"
    today = clock.today()
    page = db.paginate(queries.loans(current_user, site=site, overdue_on=today if overdue else None),
                       page=page_number(), per_page=50, error_out=False)
    return render_template("stock/loans.html", page=page, site=site, overdue=overdue, today=today)


@blueprint.route("/issues/<number>/return", methods=["GET", "POST"])
@login_required
def give_back(number):
    """归还: for each loan line of an issue, how many came back and in what condition."""
    document = _issue_document(number)
    authorize(current_user, "stock.return", document.site)
    open_lines = [line for line in document.lines if line.outstanding]
    form = ReturnForm()
    if request.method == "GET":
        for line in open_lines:
            form.lines.append_entry({"issue_line": str(line.id), "quantity": "",
                                     "condition": "good"})
    by_id = {str(line.id): line for line in open_lines}
    if form.validate_on_submit():
        rows = [row for row, entry in enumerate(form.lines.entries)
                if (entry.form.quantity.data or "").strip()]

        def work():
            lines = [{"issue_line": _whole(form.lines.entries[row].form.issue_line.data),
                      "quantity": _whole(form.lines.entries[row].form.quantity.data),
                      "condition": form.lines.entries[row].form.condition.data} for row in rows]
            services.return_items(actor=current_user, data={
                "issue": number, "lines": lines, "note": (form.note.data or "").strip()})
            return url_for("stock.issue_slip", number=number)

        if answer := _submit(form, work, done=_("已登记归还"),
                             show=lambda form, error: _show_line_errors(form, error, rows)):
            return answer
        return render_template("stock/return.html", form=form, issue=document, by_id=by_id), 422
    return render_template("stock/return.html", form=form, issue=document, by_id=by_id)


# --- transfers ---------------------------------------------------------------------------------

@blueprint.get("/transfers")
@login_required
def transfers():
    """Transfers from or to the user's sites."""
    status = request.args.get("status") if request.args.get("status") in TRANSFER_STATUSES else None
    page = db.paginate(queries.transfers(current_user, status=status, site=_site_arg()),
                       page=page_number(), per_page=50, error_out=False)
    return render_template("stock/transfers.html", page=page, status=status)


@blueprint.route("/transfers/new", methods=["GET", "POST"])
@login_required
def new_transfer():
    """调拨申请: what should go from one site to another."""
    authorize_somewhere(current_user, "stock.transfer")
    g.camera = True
    form = TransferForm()
    form.from_site.choices = _site_choices("stock.transfer")
    form.to_site.choices = choices((s.code, f"{s.name}（{s.code}）") for s in db.session.scalars(
        sa.select(Site).where(Site.active.is_(True)).order_by(Site.path)))
    _prepare_lines(form)
    if request.method == "GET":
        if home := _home_site():
            form.from_site.data = home.code
        if label := request.args.get("label"):
            form.lines.entries[0].form.label.data = label
    if form.validate_on_submit():
        rows: list[int] = []

        def work():
            transfer = transfer_actions.create_transfer(actor=current_user, data={
                "from_site": form.from_site.data, "to_site": form.to_site.data,
                "note": (form.note.data or "").strip(),
                "lines": _line_data(form, rows, with_due=False)})
            return url_for("stock.transfer", number=transfer.number)

        if answer := _submit(form, work, done=_("已提交调拨"),
                             show=lambda form, error: _show_line_errors(form, error, rows)):
            return answer
        return render_template("stock/transfer_form.html", form=form), 422
    return render_template("stock/transfer_form.html", form=form)


def _transfer_for_view(number):
    transfer = transfer_actions.get_transfer(number)
    if not can(current_user, "stock.view", transfer.to_site):
        authorize(current_user, "stock.view", transfer.from_site)
    return transfer


@blueprint.get("/transfers/<number>")
@login_required
def transfer(number):
    """调拨单: printable, with its lines and what can be done next."""
    document = _transfer_for_view(number)
    return render_template("stock/transfer.html", transfer=document, action=TransferActionForm())


def _transfer_action(number, action, success):
    form = TransferActionForm()
    if not form.validate_on_submit():
        raise BadRequest()

    def work():
        action(actor=current_user, number=number)
        return url_for("stock.transfer", number=number)

    return _submit(form, work, done=success,
                   show=lambda form, error: flash(error.message, "error")) or \
        redirect(url_for("stock.transfer", number=number))


@blueprint.post("/transfers/<number>/dispatch")
@login_required
def dispatch(number):
    """发出."""
    return _transfer_action(number, transfer_actions.dispatch_transfer, _("已发出，物资在途"))


@blueprint.post("/transfers/<number>/cancel")
@login_required
def cancel(number):
    """撤销."""
    return _transfer_action(number, transfer_actions.cancel_transfer, _("已撤销调拨"))


@blueprint.route("/transfers/<number>/receive", methods=["GET", "POST"])
@login_required
def receive_transfer(number):
    """收货: the received quantity of each line; shortfalls stay on the note."""
    document = _transfer_for_view(number)
    authorize(current_user, "stock.transfer", document.to_site)
    form = TransferReceiveForm()
    if request.method == "GET":
        for line in document.lines:
            form.lines.append_entry({"line": str(line.id), "received": str(line.quantity)})
    by_id = {str(line.id): line for line in document.lines}
    if form.validate_on_submit():
        def work():
            lines = [{"line": _whole(entry.form.line.data),
                      "received": _whole(entry.form.received.data)}
                     for entry in form.lines.entries]
            transfer_actions.receive_transfer(actor=current_user, number=number, data={"lines": lines})
            return url_for("stock.transfer", number=number)

        if answer := _submit(form, work, done=_("已收货"), show=_show_receive_errors):
            return answer
        return render_template("stock/transfer_receive.html", form=form, transfer=document,
                               by_id=by_id), 422
    return render_template("stock/transfer_receive.html", form=form, transfer=document, by_id=by_id)


def _show_receive_errors(form, error) -> None:
    if isinstance(error, ValidationError):
        for key, problem in error.details.items():
            match = re.fullmatch(r"lines\.(\d+)\.\w+", key)
            if match and int(match[1]) < len(form.lines.entries):
                form.lines.entries[int(match[1])].form.received.errors = [problem]
            else:
                form.form_errors = [*form.form_errors, problem]
        return
    show_errors(form, error)


# --- the ledger --------------------------------------------------------------------------------

@blueprint.get("/ledger")
@login_required
def ledger():
    """台账: every movement, newest first, by site, material, kind and date."""
    site = _site_arg()
    material = db.session.scalar(sa.select(Material).where(
        Material.code == request.args.get("material", ""))) if request.args.get("material") else None
    kind = request.args.get("kind") if request.args.get("kind") in MOVEMENT_KINDS else None

    def date_arg(name):
        try:
            return dt.date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return None

    since, until = date_arg("since"), date_arg("until")
    page = db.paginate(queries.movements(current_user, site=site, material=material, kind=kind,
                                         since=since, until=until),
                       page=page_number(), per_page=50, error_out=False)
    return render_template("stock/ledger.html", page=page, site=site, material=material, kind=kind,
                           since=since, until=until, sites=_sites_for("stock.view"),
                           materials=_material_names(), kinds=MOVEMENT_KINDS)
