"""Requests (需求申报): a town's keeper asks for goods on a phone (or the dispatcher for them),
lines of material and quantity, which the needs calculator can fill from displaced people × relief
kits; the incident's requests as a list; a request's page with its lines, status and plan
(views/plans.py draws the plan's part); cancelling one nothing was sent for."""

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.auth.access import authorize, authorize_somewhere
from inventory.db import db
from inventory.dispatch import kits as relief_kits
from inventory.dispatch import planning, queries, services
from inventory.dispatch.forms import DispatchActionForm, RequestForm
from inventory.dispatch.models import (
    KIT_BASIS_NAMES,
    PENDING_REQUEST_STATUSES,
    REQUEST_STATUSES,
    Incident,
    Request,
)
from inventory.dispatch.schemas import REQUEST
from inventory.dispatch.views.common import blueprint, incident_or_404, request_or_404
from inventory.dispatch.views.plans import detail_context
from inventory.errors import ValidationError
from inventory.forms import FORM_ERRORS, choices, page_number, press, show_errors, submit
from inventory.stock.forms import Lines
from inventory.stock.views.common import material_choices, site_choices
from inventory.validation import Integer, Invalid, whole_number

AS_PEOPLE = Integer()
# ?status=pending: the requests still waiting for goods (the incident screen's "open requests").
PENDING = "pending"


# --- the incident's requests --------------------------------------------------------------------

@blueprint.get("/<int(max=2147483647):incident_id>/requests")
@login_required
def requests(incident_id):
    """The incident's requests to the user's sites, newest first, with what each leaves unmet;
    ``?status=`` one status, or ``pending`` (open or planned)."""
    incident = incident_or_404(incident_id)
    wanted = request.args.get("status")
    status = wanted if wanted in (*REQUEST_STATUSES, PENDING) else None
    listed = queries.requests(current_user, incident=incident,
                              status=status if status in REQUEST_STATUSES else None)
    if status == PENDING:
        listed = listed.where(Request.status.in_(PENDING_REQUEST_STATUSES))
    page = db.paginate(listed, page=page_number(), per_page=50, error_out=False)
    return render_template("dispatch/requests.html", incident=incident, page=page, status=status,
                           unmet={item.id: planning.unmet(item) for item in page.items})


# --- 需求申报 -------------------------------------------------------------------------------------

def _kit_choices():
    return choices((kit.id, f"{kit.name}（{KIT_BASIS_NAMES.get(kit.basis, kit.basis)}）")
                   for kit in relief_kits.kits(active_only=True))


def _prepare(form: RequestForm) -> None:
    form.to_site.choices = site_choices("dispatch.request")
    form.kits.choices = _kit_choices()
    materials = material_choices()
    for entry in form.lines.entries:
        entry.form.material.choices = materials


def _calculated(form: RequestForm, incident: Incident) -> None:
    """The needs calculator: the lines as the kits give them for the displaced people (the
    site's own count in the incident when none is typed); raise ValidationError on its fields."""
    try:
        people = AS_PEOPLE.from_text(form.displaced_people.data)
    except Invalid as problem:
        raise ValidationError({"displaced_people": str(problem)}) from None
    kit_ids = [kit for kit in map(whole_number, map(str, form.kits.data or [])) if kit is not None]
    if not kit_ids:
        raise ValidationError({"kits": _("请至少选择一个救灾物资包")})
    data = {"to_site": form.to_site.data or "", "kits": kit_ids}
    if people is not None:
        data["displaced_people"] = people
    needs = relief_kits.needs_for(actor=current_user, incident_id=incident.id, data=data)
    while form.lines.entries:
        form.lines.pop_entry()
    for need in needs:
        form.lines.append_entry({"material": need["material"], "quantity": str(need["quantity"])})
    form.lines.append_entry({})
    if not needs:
        raise ValidationError({"kits": _("所选物资包按该人数算出的需求为零")})


@blueprint.route("/<int(max=2147483647):incident_id>/requests/new", methods=["GET", "POST"])
@login_required
def new_request(incident_id):
    """申报需求: the site (a keeper's own), lines of material and quantity (再加一行), and the needs
    calculator (kits × displaced people → the lines, to edit before sending)."""
    incident = incident_or_404(incident_id)
    authorize_somewhere(current_user, "dispatch.request")
    form = RequestForm()
    _prepare(form)
    if request.method == "GET":
        code = request.args.get("site")
        if code and code in {choice.value for choice in form.to_site.choices}:
            form.to_site.data = code
        elif current_user.sites:
            form.to_site.data = current_user.sites[0].code
    lines = Lines(form, REQUEST)
    context = {"incident": incident, "calculated": False}

    if request.method == "POST" and form.calculate.data:
        # The calculator sends nothing: it fills the lines and shows the form again.
        if form.validate_on_submit():
            refused = None
            try:
                _calculated(form, incident)
            except FORM_ERRORS as error:
                refused = error
            _prepare(form)  # the lines the calculator wrote need their pick lists
            if refused is not None:
                show_errors(form, refused)
                return render_template("dispatch/request_form.html", form=form, **context), 422
            context["calculated"] = True
        return render_template("dispatch/request_form.html", form=form, **context)

    def work():
        made = services.create_request(actor=current_user, incident_id=incident.id, data={
            "to_site": form.to_site.data or "", "note": (form.note.data or "").strip(),
            "lines": lines.data()})
        return url_for("dispatch.request_detail", request_id=made.id)

    return submit(form, work, done=_("已提交需求申报，等待调度"), template="dispatch/request_form.html",
                  once=True, show=lines.show_errors, **context)


# --- a request's page ---------------------------------------------------------------------------

@blueprint.get("/requests/<int(max=2147483647):request_id>")
@login_required
def request_detail(request_id):
    """需求申报: its lines and status, the plan (sources, quantities, distance, owner) and what it
    leaves unmet, the transfers approval made; a dispatcher's plan and approval forms."""
    dispatch_request = request_or_404(request_id)
    return render_template("dispatch/request.html", **detail_context(dispatch_request))


@blueprint.post("/requests/<int(max=2147483647):request_id>/cancel")
@login_required
def cancel_request(request_id):
    """撤销 a request nothing was sent for (its site's keeper, or a dispatcher)."""
    dispatch_request = request_or_404(request_id)
    authorize(current_user, "dispatch.request", dispatch_request.to_site)
    page = url_for("dispatch.request_detail", request_id=dispatch_request.id)

    def work():
        services.cancel_request(actor=current_user, request_id=dispatch_request.id)
        return page

    return press(DispatchActionForm(), work, done=_("已撤销需求申报"), back=page, once=True,
                 refused=FORM_ERRORS)

