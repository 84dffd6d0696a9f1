"""Stock, receipts, issues, returns, transfers, adjustments and the ledger (API.md)."""

import re

from flask import Response, g, jsonify, request
from flask_babel import gettext as _

from inventory.api.core import (
    MAX_ID,
    api,
    choice_arg,
    date_arg,
    flag_arg,
    idempotent,
    json_body,
    material_arg,
    page_args,
    paginated,
    site_arg,
)
from inventory.auth.access import authorize, can
from inventory.db import db
from inventory.errors import NotFound, ValidationError
from inventory.extensions import label_guessing
from inventory.labels import qr
from inventory.stock import queries, services, transfers
from inventory.stock.models import MOVEMENT_KINDS, STATUSES, TRANSFER_STATUSES, Issue, Return
from inventory.stock.schemas import REVERSAL
from inventory.validation import load


def _iso(value):
    return value.isoformat() if value is not None else None


def item_json(item) -> dict:
    return {"label": item.label, "site": item.site.code, "material": item.material.code,
            "lot": item.lot, "serial": item.serial, "expiry_date": _iso(item.expiry_date),
            "quantity": item.quantity, "status": item.status, "owner": item.owner,
            "received_at": _iso(item.received_at)}


def movement_json(movement) -> dict:
    return {"id": movement.id, "at": _iso(movement.at), "kind": movement.kind,
            "site": movement.item.site.code, "material": movement.item.material.code,
            "label": movement.item.label, "quantity": movement.quantity,
            "balance_after": movement.balance_after, "document": movement.document,
            "user": movement.user.username if movement.user else None,
            "reason": movement.reason, "reverses": movement.reverses_id}


def issue_json(issue) -> dict:
    return {"number": issue.number, "site": issue.site.code, "issued_at": _iso(issue.created_at),
            "recipient": {"type": issue.recipient_type, "name": issue.recipient_name,
                          "contact": issue.recipient_contact,
                          "id_number": issue.recipient_id_number},
            "purpose": issue.purpose,
            "lines": [{"id": line.id, "label": line.item.label, "material": line.item.material.code,
                       "quantity": line.quantity, "returnable": line.is_loan,
                       "due_back": _iso(line.due_date), "outstanding": line.outstanding}
                      for line in issue.lines]}


def return_json(document) -> dict:
    return {"number": document.number, "issue": document.issue.number,
            "returned_at": _iso(document.created_at),
            "lines": [{"id": line.id, "issue_line": line.issue_line_id, "quantity": line.quantity,
                       "condition": line.condition,
                       "label": line.item.label if line.item else None}
                      for line in document.lines]}


def transfer_json(transfer) -> dict:
    return {"number": transfer.number, "status": transfer.status,
            "from_site": transfer.from_site.code, "to_site": transfer.to_site.code,
            "created_at": _iso(transfer.created_at), "dispatched_at": _iso(transfer.dispatched_at),
            "received_at": _iso(transfer.received_at), "note": transfer.note,
            "lines": [{"id": line.id, "material": line.material.code,
                       "lot": line.from_item.lot if line.from_item else None,
                       "serial": line.from_item.serial if line.from_item else None,
                       "quantity": line.quantity, "received": line.received,
                       "discrepancy": line.discrepancy,
                       "from_label": line.from_item.label if line.from_item else None,
                       "to_label": line.to_item.label if line.to_item else None}
                      for line in transfer.lines]}


# --- stock -------------------------------------------------------------------------------------

def _scoped_site(permission="stock.view"):
    site = site_arg()
    if site is not None:
        authorize(g.api_user, permission, site)
    return site


@api.get("/stock")
def list_stock():
    """Stock items in the caller's scope, filtered by site (and sub-sites), material, status, expiry."""
    query = queries.stock_items(
        g.api_user, site=_scoped_site(), include_sub_sites=flag_arg("include_sub_sites", False),
        material=material_arg(), status=choice_arg("status", STATUSES),
        expiring_before=date_arg("expiring_before"))
    return jsonify(paginated(query, item_json))


@api.get("/stock/summary")
def stock_summary():
    """Per material: available, on loan, in transit (on its way here) and damaged."""
    items = queries.stock_summary(g.api_user, site=_scoped_site(),
                                  include_sub_sites=flag_arg("include_sub_sites", True))
    return jsonify(items=items)


def _scanned_item(label: str):
    """The item of a label the caller may see (404 unknown, 403 another site's, API.md); misses
    count towards the label-guessing limit (inventory/guessing.py)."""

    def lookup():
        item = services.get_item(label)
        authorize(g.api_user, "stock.view", item.site)
        return item

    return label_guessing.look_up(g.api_user, lookup)


@api.get("/stock/<label>")
def get_stock_item(label):
    """One stock item with its scan URL and latest 20 movements."""
    item = _scanned_item(label)
    return jsonify({**item_json(item), "scan_url": qr.scan_url(item.label),
                    "movements": [movement_json(m) for m in queries.item_movements(item)]})


@api.get("/stock/<label>/qr.png")
def stock_qr_png(label):
    """The QR code of the item's scan URL, as PNG."""
    item = _scanned_item(label)
    return Response(qr.png(qr.scan_url(item.label)), mimetype="image/png")


@api.get("/stock/<label>/qr.svg")
def stock_qr_svg(label):
    """The QR code of the item's scan URL, as SVG."""
    item = _scanned_item(label)
    return Response(qr.svg(qr.scan_url(item.label)), mimetype="image/svg+xml")


# --- documents ---------------------------------------------------------------------------------

@api.post("/receipts")
def create_receipt():
    """入库."""
    def work():
        receipt = services.receive(actor=g.api_user, data=json_body())
        return 201, {"number": receipt.number,
                     "items": [item_json(item) for item in queries.document_items(receipt.number)]}
    return idempotent(work)


@api.post("/issues")
def create_issue():
    """发放 (loans for returnable materials)."""
    return idempotent(lambda: (201, issue_json(services.issue(actor=g.api_user, data=json_body()))))


def _issue(number) -> Issue:
    issue = db.session.scalar(db.select(Issue).where(Issue.number == number))
    if issue is None:
        raise NotFound()
    authorize(g.api_user, "stock.view", issue.site)
    return issue


@api.get("/issues")
def list_issues():
    """Issue documents; ``outstanding=true`` keeps those with loans still out."""
    site, outstanding = _scoped_site(), flag_arg("outstanding", False)
    incident = request.args.get("incident")
    if incident and not (re.fullmatch(r"[0-9]{1,10}", incident) and 1 <= int(incident) <= MAX_ID):
        raise ValidationError({"incident": _("应为正整数")})
    if incident:
        page, per_page = page_args()
        return jsonify(items=[], total=0, page=page, per_page=per_page)  # no incidents exist yet
    return jsonify(paginated(queries.issues(g.api_user, site=site, outstanding=outstanding),
                             issue_json))


@api.get("/issues/<number>")
def get_issue(number):
    """One issue document."""
    return jsonify(issue_json(_issue(number)))


@api.post("/returns")
def create_return():
    """归还 of loaned goods."""
    return idempotent(lambda: (201, return_json(services.return_items(actor=g.api_user,
                                                                       data=json_body()))))


@api.get("/returns/<number>")
def get_return(number):
    """One return document."""
    document = db.session.scalar(db.select(Return).where(Return.number == number))
    if document is None:
        raise NotFound()
    authorize(g.api_user, "stock.view", document.issue.site)
    return jsonify(return_json(document))


@api.post("/transfers")
def create_transfer():
    """调拨申请."""
    return idempotent(lambda: (201, transfer_json(transfers.create_transfer(actor=g.api_user,
                                                                            data=json_body()))))


@api.post("/transfers/<number>/dispatch")
def dispatch_transfer(number):
    """发出: stock leaves the source."""
    return idempotent(lambda: (200, transfer_json(transfers.dispatch_transfer(actor=g.api_user,
                                                                              number=number))))


@api.post("/transfers/<number>/receive")
def receive_transfer(number):
    """收货 at the destination; omitted lines count as fully received."""
    def work():
        body = json_body() if request.get_data() else {}
        return 200, transfer_json(transfers.receive_transfer(actor=g.api_user, number=number,
                                                            data=body))
    return idempotent(work)


@api.post("/transfers/<number>/cancel")
def cancel_transfer(number):
    """撤销 a transfer that has not left."""
    return idempotent(lambda: (200, transfer_json(transfers.cancel_transfer(actor=g.api_user,
                                                                            number=number))))


@api.get("/transfers")
def list_transfers():
    """Transfers from or to the caller's sites."""
    query = queries.transfers(g.api_user, status=choice_arg("status", TRANSFER_STATUSES),
                              site=_scoped_site())
    return jsonify(paginated(query, transfer_json))


@api.get("/transfers/<number>")
def get_transfer(number):
    """One transfer with its lines."""
    transfer = transfers.get_transfer(number)
    # Both ends may read a transfer: the sender and the receiver.
    if not can(g.api_user, "stock.view", transfer.to_site):
        authorize(g.api_user, "stock.view", transfer.from_site)
    return jsonify(transfer_json(transfer))


@api.post("/adjustments")
def create_adjustment():
    """调整 or write-off of one item."""
    return idempotent(lambda: (201, movement_json(services.adjust(actor=g.api_user,
                                                                   data=json_body()))))


@api.post("/movements/<int(max=2147483647):movement_id>/reverse")
def reverse_movement(movement_id):
    """冲销: append the opposite of a receipt, adjustment or write-off."""
    def work():
        fields = load(REVERSAL, json_body()) if request.get_data() else {}
        return 201, movement_json(services.reverse(actor=g.api_user, movement_id=movement_id,
                                                   note=fields.get("note", "")))
    return idempotent(work)


@api.get("/movements")
def list_movements():
    """The ledger (台账), newest first."""
    item = None
    if label := request.args.get("label"):
        try:
            item = services.get_item(label)
        except NotFound:
            raise ValidationError({"label": _("标签不存在")}) from None
        authorize(g.api_user, "stock.view", item.site)
    query = queries.movements(g.api_user, site=_scoped_site(), material=material_arg(), item=item,
                              kind=choice_arg("kind", MOVEMENT_KINDS), since=date_arg("since"),
                              until=date_arg("until"))
    return jsonify(paginated(query, movement_json))

