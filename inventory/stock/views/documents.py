"""Stock documents: receipts, issues (and loans), returns, and their printable slips."""

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import authorize, authorize_somewhere
from inventory.auth.models import User
from inventory.db import db
from inventory.errors import Forbidden, ValidationError
from inventory.forms import FORM_ERRORS, collect, page_number, press, show_errors, submit
from inventory.stock import queries, services
from inventory.stock.forms import IssueForm, IssueReversalForm, Lines, ReceiveForm, RecipientForm, ReturnForm
from inventory.stock.models import Issue, Receipt, Return
from inventory.stock.schemas import ISSUE, RETURN
from inventory.stock.views.common import (
    blueprint,
    home_site,
    incident_arg,
    material_choices,
    prepare_lines,
    site_arg,
    site_choices,
)

# --- receipts ----------------------------------------------------------------------------------

@blueprint.route("/receive", methods=["GET", "POST"])
@login_required
def receive():
    """入库: a lot (added to its batch) or serial-numbered equipment, one number per line."""
    authorize_somewhere(current_user, "stock.receive")
    g.camera = True
    form = ReceiveForm()
    form.site.choices = site_choices("stock.receive")
    form.material.choices = material_choices()
    if request.method == "GET" and (home := home_site()):
        form.site.data = home.code

    def work():
        data = collect(form, text=["site", "material", "donor", "note"], integers=["quantity"],
                       dates=["production_date", "expiry_date"])
        data["lot"] = (form.lot.data or "").strip() or None
        data["source"] = form.source.data or None
        if serials := [s.strip() for s in (form.serials.data or "").splitlines() if s.strip()]:
            data["serials"] = serials
        receipt = services.receive(actor=current_user, data=data,
                                   warn_expired=not form.confirm_expired.data)
        return url_for("stock.receipt", number=receipt.number)

    return submit(form, work, done=_("已入库"), template="stock/receive.html", once=True)


@blueprint.get("/receipts/<number>")
@login_required
def receipt(number):
    """A receipt and the items (labels) it filled."""
    document = queries.get_document(Receipt, number)
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
    form.site.choices = site_choices("stock.issue")
    prepare_lines(form)
    if request.method == "GET":
        if home := home_site():
            form.site.data = home.code
        if label := request.args.get("label"):
            form.lines.entries[0].form.label.data = label
            form.lines.entries[0].form.quantity.data = "1"
    lines = Lines(form, ISSUE)

    def work():
        document = services.issue(actor=current_user, data={
            "site": form.site.data,
            "recipient": {"type": form.recipient_type.data,
                          "name": (form.recipient_name.data or "").strip(),
                          "contact": (form.recipient_contact.data or "").strip(),
                          "id_number": (form.recipient_id_number.data or "").strip()},
            "purpose": (form.purpose.data or "").strip(), "lines": lines.data()})
        return url_for("stock.issue_slip", number=document.number)

    # A recipient's errors (recipient.name) go on its fields (recipient_name) like any other's.
    return submit(form, work, done=_("已发放"), template="stock/issue.html", once=True,
                  show=lines.show_errors)


@blueprint.get("/issues")
@login_required
def issues():
    """Issue documents of a site (or all the user's), newest first."""
    site = site_arg()
    outstanding = request.args.get("outstanding") == "1"
    incident = incident_arg()
    # 待补登: issues handed out first (先发后补) whose recipient is still to be completed.
    pending = request.args.get("pending") in ("true", "1")
    page = db.paginate(queries.issues(current_user, site=site, outstanding=outstanding, incident=incident,
                                      recipient_pending=pending),
                       page=page_number(), per_page=50, error_out=False)
    return render_template("stock/issues.html", page=page, site=site, outstanding=outstanding,
                           incident=incident, pending=pending)


def _issue_document(number) -> Issue:
    document = queries.get_document(Issue, number)
    authorize(current_user, "stock.view", document.site)
    return document


@blueprint.get("/issues/<number>")
@login_required
def issue_slip(number):
    """发放单: printable in two copies, with the recipient's and the keeper's signature lines."""
    document = _issue_document(number)
    completion = RecipientForm(recipient_type=document.recipient_type)
    return render_template("stock/issue_slip.html", **_slip(document, completion))


def _slip(document: Issue, recipient: RecipientForm) -> dict:
    """What the slip shows: the issue, its returns, and its forms (冲销; 补登 while pending)."""
    return {"issue": document, "returns": queries.returns_of(document), "reversal": IssueReversalForm(),
            "recipient": recipient}


@blueprint.post("/issues/<number>/recipient")
@login_required
def complete_recipient(number):
    """补登领用人 of a 先发后补 issue, on its slip; a refusal comes back on the slip's form."""
    document = _issue_document(number)
    form = RecipientForm()

    def work():
        services.complete_recipient(actor=current_user, number=document.number, data={
            "type": form.recipient_type.data,
            "name": (form.recipient_name.data or "").strip(),
            "contact": (form.recipient_contact.data or "").strip(),
            "id_number": (form.recipient_id_number.data or "").strip()})
        return url_for("stock.issue_slip", number=document.number)

    def show(form, error):
        """The service names the recipient's fields (name, id_number); the form's are recipient_…."""
        if isinstance(error, ValidationError):
            error = ValidationError({f"recipient_{key}": problem for key, problem in error.details.items()})
        show_errors(form, error)

    return submit(form, work, done=_("已补登领用人"), template="stock/issue_slip.html", show=show,
                  once=True, **_slip(document, form))


@blueprint.post("/issues/<number>/reverse")
@login_required
def reverse_issue(number):
    """冲销发放单 (a manager's): the goods go back, its loans are void; back to the slip, which says
    so. A refusal (no reason, already reversed, goods came back) is flashed on the slip."""
    slip = url_for("stock.issue_slip", number=_issue_document(number).number)
    form = IssueReversalForm()

    def work():
        services.reverse_issue(actor=current_user, number=number, note=form.note.data or "")
        return slip

    return press(form, work, done=_("已冲销，物资已退回库存"), back=slip, once=True, refused=FORM_ERRORS)


@blueprint.get("/loans")
@login_required
def loans():
    """Loans still out, soonest due first; overdue ones first of all when asked."""
    site = site_arg()
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
        # Most loans come back whole: each line offers what is still out.
        for line in open_lines:
            form.lines.append_entry({"issue_line": str(line.id), "quantity": str(line.outstanding),
                                     "condition": "good"})
    lines = Lines(form, RETURN, none_filled=_("请填写归还数量"))

    def work():
        returned = services.return_items(actor=current_user, data={
            "issue": number, "lines": lines.data(), "note": (form.note.data or "").strip()})
        return url_for("stock.return_slip", number=returned.number)

    # A keeper's "lost" (a write-off) is refused on the form itself, saying who can do it (403).
    return submit(form, work, done=_("已登记归还"), template="stock/return.html", once=True,
                  show=lines.show_errors, refused=(*FORM_ERRORS, Forbidden),
                  issue=document,
                  by_id={str(line.id): line for line in open_lines})


@blueprint.get("/returns/<number>")
@login_required
def return_slip(number):
    """归还单: printable in two copies; a damaged line shows the label its damaged item needs."""
    document = queries.get_document(Return, number)
    authorize(current_user, "stock.view", document.issue.site)
    keeper = db.session.get(User, document.user_id) if document.user_id else None
    # Damaged goods of a lot go into an item of their own: its label must be printed and stuck on.
    relabel = list({line.item.id: line.item for line in document.lines
                    if line.condition == "damaged" and line.item is not None
                    and line.item.id != line.issue_line.item_id and line.item.quantity > 0}.values())
    return render_template("stock/return_slip.html", document=document, issue=document.issue,
                           keeper=keeper, relabel=relabel,
                           outstanding=queries.outstanding_after(document))
