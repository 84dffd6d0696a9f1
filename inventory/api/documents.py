"""Issues, returns and transfers: the documents, addressed by number (API.md)."""

import re

from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user

from inventory.api.core import MAX_ID, choice_arg, flag_arg, json_body, scoped_site
from inventory.api.routes import SITE, Body, Page, choice, flag, query, route
from inventory.api.shapes import SELF, Bool, Choice, Int, IsoDate, IsoDateTime, ListOf, Nested, Shape, Str
from inventory.auth.access import authorize, can
from inventory.db import db
from inventory.dispatch.models import Incident
from inventory.errors import ValidationError
from inventory.stock import queries, services, transfers
from inventory.stock.models import (
    RECIPIENT_TYPES,
    RETURN_CONDITIONS,
    TRANSFER_STATUSES,
    Issue,
    Return,
)
from inventory.stock.schemas import ISSUE, ISSUE_REVERSAL, RECIPIENT, RETURN, TRANSFER, TRANSFER_RECEIPT
from inventory.templating import mask_id_number
from inventory.validation import String, load


def _id_number(issue: Issue) -> str:
    """The recipient's ID number: in full for those who issue goods at the issue's site (they
    check it against the card), masked for everyone else as the printed slip shows it."""
    number = issue.recipient_id_number
    return number if can(_viewer(), "stock.issue", issue.site) else mask_id_number(number)


def _viewer():
    """Whom an answer is for: the API's caller; on a page — a manager applying an operation a
    sync held (offline/views.py) — the user signed in."""
    return g.api_user if "api_user" in g else current_user


ISSUE_ANSWER = Shape({
    "number": Str(), "site": Str("site.code"), "issued_at": IsoDateTime("created_at"),
    "recipient": Nested(Shape({
        "type": Choice(RECIPIENT_TYPES, "recipient_type"), "name": Str("recipient_name"),
        "contact": Str("recipient_contact"),
        "id_number": Str(_id_number, description="身份证号；仅可在该站点发放的角色看到完整号码"),
    }), SELF),
    "purpose": Str(),
    "lines": ListOf(Shape({
        "id": Int(), "label": Str("item.label"), "material": Str("item.material.code"),
        "quantity": Int(), "returnable": Bool("is_loan"), "due_back": IsoDate("due_date", nullable=True),
        "outstanding": Int(minimum=0, description="未归还数量；已冲销的发放单为 0"),
    })),
    "reversed_at": IsoDateTime(nullable=True, description="冲销时间；未冲销为 null"),
    "reversed_by": Str("reversed_by.username", nullable=True, description="冲销人"),
    "reversal_note": Str(description="冲销原因；未冲销为空"),
    "incident": Int("incident_id", nullable=True, description="所属灾情事件编号"),
    "recipient_pending": Bool(description="先发后补：领取人信息待补录"),
}, name="Issue")

RETURN_ANSWER = Shape({
    "number": Str(), "issue": Str("issue.number"), "returned_at": IsoDateTime("created_at"),
    "lines": ListOf(Shape({
        "id": Int(), "issue_line": Int("issue_line_id"), "quantity": Int(),
        "condition": Choice(RETURN_CONDITIONS), "label": Str("item.label", nullable=True),
    })),
}, name="Return")

TRANSFER_ANSWER = Shape({
    "number": Str(), "status": Choice(TRANSFER_STATUSES), "from_site": Str("from_site.code"),
    "to_site": Str("to_site.code"), "created_at": IsoDateTime(),
    "dispatched_at": IsoDateTime(nullable=True), "received_at": IsoDateTime(nullable=True),
    "note": Str(),
    "incident": Int("incident_id", nullable=True, description="所属灾情事件编号"),
    "driver_name": Str(description="驾驶员"), "driver_phone": Str(description="驾驶员电话"),
    "vehicle": Str(description="车牌号"),
    "lines": ListOf(Shape({
        "id": Int(), "material": Str("material.code"), "lot": Str("from_item.lot", nullable=True),
        "serial": Str("from_item.serial", nullable=True), "quantity": Int(),
        "received": Int(nullable=True), "discrepancy": Int(nullable=True),
        "from_label": Str("from_item.label", nullable=True),
        "to_label": Str("to_item.label", nullable=True),
    })),
}, name="Transfer")

ISSUE_NUMBER = {"number": String(max_length=20, description="发放单号")}
RETURN_NUMBER = {"number": String(max_length=20, description="归还单号")}
TRANSFER_NUMBER = {"number": String(max_length=20, description="调拨单号")}
READ_ERRORS = (401, 403, 404)
LIST_ERRORS = (401, 403, 422)
INCIDENT = query("incident", "灾情事件编号（已结束的也可）",
                 {"type": "integer", "minimum": 1, "maximum": MAX_ID}, or_empty=True)


def incident_arg():
    """The incident of ?incident=, open or closed, or None; an unknown one is a validation error."""
    raw = request.args.get("incident")
    if not raw:
        return None
    if not (re.fullmatch(r"[0-9]{1,10}", raw) and 1 <= int(raw) <= MAX_ID):
        raise ValidationError({"incident": _("应为正整数")})
    incident = db.session.get(Incident, int(raw))
    if incident is None:
        raise ValidationError({"incident": _("灾情事件 %(id)s 不存在", id=raw)})
    return incident


# --- issues and returns --------------------------------------------------------------------------

@route.post("/issues", "发放（可归还物资为借用）", body=ISSUE, answers=ISSUE_ANSWER, status=201,
            idempotent=True)
def create_issue():
    """发放 (loans for returnable materials)."""
    return services.issue(actor=g.api_user, data=json_body())


@route.get("/issues", "发放单列表",
           query=(SITE, INCIDENT, flag("outstanding", "仅含未归还借用"),
                  flag("recipient_pending", "仅含先发后补、领取人待补录的")),
           answers=Page(ISSUE_ANSWER), errors=LIST_ERRORS)
def list_issues():
    """Issue documents; ``outstanding=true`` keeps those with loans still out, ``incident=`` those
    of one incident (an unknown one → 422), ``recipient_pending=true`` those whose recipient is
    still to be completed (先发后补)."""
    site, outstanding = scoped_site(), flag_arg("outstanding", False)
    return queries.issues(g.api_user, site=site, outstanding=outstanding, incident=incident_arg(),
                          recipient_pending=flag_arg("recipient_pending", False))


def _document(model, number: str, site):
    """The document of this number (404), if the caller may see its ``site(document)`` (403)."""
    document = queries.get_document(model, number)
    authorize(g.api_user, "stock.view", site(document))
    return document


@route.get("/issues/<number>", "一张发放单", params=ISSUE_NUMBER, answers=ISSUE_ANSWER,
           errors=READ_ERRORS)
def get_issue(number):
    """One issue document."""
    return _document(Issue, number, lambda issue: issue.site)


@route.post("/issues/<number>/reverse", "冲销发放单：物资退回发放站点，借用作废（管理员）",
            params=ISSUE_NUMBER, body=ISSUE_REVERSAL, answers=ISSUE_ANSWER, idempotent=True)
def reverse_issue(number):
    """冲销 a mistaken issue whole: each line's goods go back to the issuing site by a movement that
    reverses the line's own, and its loans no longer count. Only before anything of it came back
    (else 409 invalid_state), and once (again → 409 invalid_state)."""
    fields = load(ISSUE_REVERSAL, json_body())
    return services.reverse_issue(actor=g.api_user, number=number, note=fields["note"])


@route.post("/issues/<number>/recipient", "先发后补：补录领取人", params=ISSUE_NUMBER, body=RECIPIENT,
            answers=ISSUE_ANSWER, idempotent=True)
def complete_recipient(number):
    """An issue made with the recipient still to come gets its recipient; it is no longer flagged
    (``recipient_pending`` false), and the audit log keeps who completed it. Not pending → 409."""
    return services.complete_recipient(actor=g.api_user, number=number, data=json_body())


@route.post("/returns", "归还", body=RETURN, answers=RETURN_ANSWER, status=201, idempotent=True)
def create_return():
    """归还 of loaned goods."""
    return services.return_items(actor=g.api_user, data=json_body())


@route.get("/returns/<number>", "一张归还单", params=RETURN_NUMBER, answers=RETURN_ANSWER,
           errors=READ_ERRORS)
def get_return(number):
    """One return document."""
    return _document(Return, number, lambda document: document.issue.site)


# --- transfers -----------------------------------------------------------------------------------

@route.post("/transfers", "调拨申请", body=TRANSFER, answers=TRANSFER_ANSWER, status=201,
            idempotent=True)
def create_transfer():
    """调拨申请: ask to move stock between two sites (nothing moves until it is dispatched)."""
    return transfers.create_transfer(actor=g.api_user, data=json_body())


@route.post("/transfers/<number>/dispatch", "发出：库存离开调出站点", params=TRANSFER_NUMBER,
            answers=TRANSFER_ANSWER, idempotent=True)
def dispatch_transfer(number):
    """发出: stock leaves the source."""
    return transfers.dispatch_transfer(actor=g.api_user, number=number)


@route.post("/transfers/<number>/receive", "收货：未列出的行按全部收到", params=TRANSFER_NUMBER,
            body=Body(TRANSFER_RECEIPT, required=False), answers=TRANSFER_ANSWER, idempotent=True)
def receive_transfer(number):
    """收货 at the destination; omitted lines count as fully received."""
    body = json_body() if request.get_data() else {}
    return transfers.receive_transfer(actor=g.api_user, number=number, data=body)


@route.post("/transfers/<number>/cancel", "撤销（仅限未发出）", params=TRANSFER_NUMBER,
            answers=TRANSFER_ANSWER, idempotent=True)
def cancel_transfer(number):
    """撤销 a transfer that has not left."""
    return transfers.cancel_transfer(actor=g.api_user, number=number)


@route.get("/transfers", "调拨单列表（调出或调入为调用者站点）",
           query=(choice("status", "状态", TRANSFER_STATUSES), SITE, INCIDENT),
           answers=Page(TRANSFER_ANSWER), errors=LIST_ERRORS)
def list_transfers():
    """Transfers from or to the caller's sites; ``incident=`` those of one incident (unknown → 422)."""
    return queries.transfers(g.api_user, status=choice_arg("status", TRANSFER_STATUSES),
                             site=scoped_site(), incident=incident_arg())


@route.get("/transfers/<number>", "一张调拨单", params=TRANSFER_NUMBER, answers=TRANSFER_ANSWER,
           errors=READ_ERRORS)
def get_transfer(number):
    """One transfer with its lines."""
    transfer = transfers.get_transfer(number)
    # Both ends may read a transfer: the sender and the receiver.
    if not can(g.api_user, "stock.view", transfer.to_site):
        authorize(g.api_user, "stock.view", transfer.from_site)
    return transfer
