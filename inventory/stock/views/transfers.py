"""Transfer pages: requests, the printable note, dispatch, cancel and receipt at the other end."""

import sqlalchemy as sa
from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.auth.access import authorize, authorize_somewhere, can
from inventory.db import db
from inventory.dispatch.lookup import get_incident
from inventory.forms import FORM_ERRORS, choices, page_number, press, submit
from inventory.sites.models import Site
from inventory.stock import queries
from inventory.stock import transfers as transfer_actions
from inventory.stock.forms import Lines, TransferActionForm, TransferForm, TransferReceiveForm
from inventory.stock.models import TRANSFER_STATUSES
from inventory.stock.schemas import TRANSFER, TRANSFER_RECEIPT
from inventory.stock.views.common import (
    blueprint,
    home_site,
    incident_arg,
    prepare_lines,
    site_arg,
    site_choices,
)


@blueprint.get("/transfers")
@login_required
def transfers():
    """Transfers from or to the user's sites; ``?incident=`` those sent for one incident."""
    status = request.args.get("status") if request.args.get("status") in TRANSFER_STATUSES else None
    incident = incident_arg()
    page = db.paginate(queries.transfers(current_user, status=status, site=site_arg(), incident=incident),
                       page=page_number(), per_page=50, error_out=False)
    return render_template("stock/transfers.html", page=page, status=status, incident=incident)


@blueprint.route("/transfers/new", methods=["GET", "POST"])
@login_required
def new_transfer():
    """调拨申请: what should go from one site to another."""
    authorize_somewhere(current_user, "stock.transfer")
    g.camera = True
    form = TransferForm()
    form.from_site.choices = site_choices("stock.transfer")
    form.to_site.choices = choices((s.code, f"{s.name}（{s.code}）") for s in db.session.scalars(
        sa.select(Site).where(Site.active.is_(True)).order_by(Site.path)))
    prepare_lines(form)
    if request.method == "GET":
        if home := home_site():
            form.from_site.data = home.code
        if label := request.args.get("label"):
            form.lines.entries[0].form.label.data = label
    lines = Lines(form, TRANSFER)

    def work():
        transfer = transfer_actions.create_transfer(actor=current_user, data={
            "from_site": form.from_site.data, "to_site": form.to_site.data,
            "note": (form.note.data or "").strip(), "lines": lines.data()})
        return url_for("stock.transfer", number=transfer.number)

    return submit(form, work, done=_("已提交调拨"), template="stock/transfer_form.html", once=True,
                  show=lines.show_errors)


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
    incident = get_incident(document.incident_id) if document.incident_id else None
    return render_template("stock/transfer.html", transfer=document, action=TransferActionForm(),
                           incident=incident)


def _transfer_action(number, action, done):
    """A transfer's button: do it once, and show the transfer again whatever the answer."""
    page = url_for("stock.transfer", number=number)

    def work():
        action(actor=current_user, number=number)
        return page

    return press(TransferActionForm(), work, done=done, back=page, once=True, refused=FORM_ERRORS)


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
    authorize(current_user, "stock.receive", document.to_site)
    form = TransferReceiveForm()
    if request.method == "GET":
        for line in document.lines:
            form.lines.append_entry({"line": str(line.id), "received": str(line.quantity)})
    lines = Lines(form, TRANSFER_RECEIPT)

    def work():
        transfer_actions.receive_transfer(actor=current_user, number=number,
                                          data={"lines": lines.data()})
        return url_for("stock.transfer", number=number)

    return submit(form, work, done=_("已收货"), template="stock/transfer_receive.html", once=True,
                  show=lines.show_errors, transfer=document,
                  by_id={str(line.id): line for line in document.lines})
