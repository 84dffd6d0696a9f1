"""The plan on a request's page (dispatchers and managers): 生成方案, the allocations as a table
the dispatcher edits (a quantity changed, a row removed, a row added from another source), the
driver and vehicle, 批准调拨 into one transfer per source; and the owner's approval of their
goods (省级前置物资). A refused approval (stock moved since the plan) says per line what changed
and sends nothing."""

import re

import sqlalchemy as sa
from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.auth.access import authorize, can
from inventory.db import db
from inventory.dispatch import planning
from inventory.dispatch.forms import (
    AllocationLineForm,
    ApprovalForm,
    DispatchActionForm,
    OwnerApprovalForm,
    PlanForm,
)
from inventory.dispatch.models import PENDING_REQUEST_STATUSES, Request
from inventory.dispatch.schemas import APPROVAL
from inventory.dispatch.sources import nearest_per_material
from inventory.dispatch.views.common import blueprint, request_or_404
from inventory.errors import InsufficientStock, ValidationError
from inventory.forms import choices, show_errors, submit
from inventory.sites.models import Site
from inventory.validation import DateTime, Invalid, whole_number

ALLOCATION_FIELD = re.compile(r"allocations\.(\d+)(?:\.(\w+))?")
AS_TIME = DateTime()
SOURCES_PER_MATERIAL = 50


# --- the page's parts ----------------------------------------------------------------------------

def _sources(dispatch_request: Request) -> list:
    """Where the plan could take each material from, nearest first (read-only): the nearest
    SOURCES_PER_MATERIAL of each, so a province's page lists a few hundred, not thousands."""
    return nearest_per_material(dispatch_request, allow_below_norm=dispatch_request.allow_below_norm,
                                count=SOURCES_PER_MATERIAL)


def _site_choices(dispatch_request: Request, sources: list):
    """The sources' sites (and those the plan already names), headed by an empty choice."""
    sites = {allocation.from_site.code: allocation.from_site.name
             for allocation in dispatch_request.allocations}
    for source in sources:
        sites.setdefault(source.code, source.name)
    return choices([("", _("— 调出站点 —")), *((code, f"{name}（{code}）") for code, name in sites.items())])


def _material_choices(dispatch_request: Request):
    return choices([("", _("— 物资 —")), *((line.material.code, f"{line.material.name}（{line.material.unit}）")
                                          for line in dispatch_request.lines)])


def approval_form(dispatch_request: Request, form: ApprovalForm | None = None,
                  sources: list | None = None) -> ApprovalForm:
    """The approval form: as posted, or the plan's allocations and one spare row to add a source."""
    if form is None:
        form = ApprovalForm(formdata=None)
        for allocation in dispatch_request.allocations:
            form.lines.append_entry({"from_site": allocation.from_site.code,
                                           "material": allocation.material.code,
                                           "quantity": str(allocation.quantity),
                                           "owner": allocation.owner})
        form.lines.append_entry({})
        form.version.data = str(dispatch_request.version)
    sites = _site_choices(dispatch_request, sources if sources is not None else _sources(dispatch_request))
    materials = _material_choices(dispatch_request)
    for entry in form.lines.entries:
        entry.form.from_site.choices = sites
        entry.form.material.choices = materials
    return form


def detail_context(dispatch_request: Request, *, approval: ApprovalForm | None = None,
                   owner_form: OwnerApprovalForm | None = None, changed: list | None = None,
                   sources: list | None = None) -> dict:
    """What the request's page shows: its lines, the plan and what it leaves unmet, the
    transfers approval made; for a dispatcher the plan's forms and the sources on offer."""
    manage = can(current_user, "dispatch.manage", dispatch_request.to_site)
    pending = dispatch_request.status in PENDING_REQUEST_STATUSES
    unmet = planning.unmet(dispatch_request)
    context = {"dispatch_request": dispatch_request, "incident": dispatch_request.incident,
               "unmet": unmet, "unmet_of": {material.id: short for material, short in unmet},
               "manage": manage, "pending": pending,
               "transfers": list({allocation.transfer.id: allocation.transfer
                                  for allocation in dispatch_request.allocations
                                  if allocation.transfer is not None}.values()),
               "changed": changed if changed is not None else [],
               "may_cancel": pending and can(current_user, "dispatch.request", dispatch_request.to_site),
               "cancellation": DispatchActionForm()}
    if manage and pending:
        sources = sources if sources is not None else _sources(dispatch_request)
        context.update(plan_form=PlanForm(formdata=None, allow_below_norm=dispatch_request.allow_below_norm),
                       approval=approval_form(dispatch_request, approval, sources), sources=sources,
                       material_names={line.material_id: line.material.name for line in dispatch_request.lines},
                       owner_form=owner_form or OwnerApprovalForm(formdata=None))
    return context


# --- 生成方案 ---------------------------------------------------------------------------------------

def _managed(request_id: int) -> tuple[Request, str]:
    """Load (404), authorise (403): the request and its page's URL."""
    dispatch_request = request_or_404(request_id)
    authorize(current_user, "dispatch.manage", dispatch_request.to_site)
    return dispatch_request, url_for("dispatch.request_detail", request_id=dispatch_request.id)


@blueprint.post("/requests/<int(max=2147483647):request_id>/plan")
@login_required
def make_plan(request_id):
    """生成方案: sources nearest first, never a cut-off site or the requesting one, never below a
    source's own norm unless ticked; what cannot be met is listed in red."""
    dispatch_request, page = _managed(request_id)
    form = PlanForm()

    def work():
        planned = planning.plan(actor=current_user, request_id=dispatch_request.id,
                                allow_below_norm=bool(form.allow_below_norm.data))
        short = planning.unmet(planned)
        flash(_("已生成调拨方案：%(n)d 种物资无法满足，见红色行", n=len(short)) if short
              else _("已生成调拨方案"), "success")
        return page

    return submit(form, work, done=None, template="dispatch/request.html", once=True,
                  **{**detail_context(dispatch_request), "plan_form": form})


# --- 批准调拨 ---------------------------------------------------------------------------------------

class Allocations:
    """The approval form's rows as the allocations approve() takes, and its errors back on them."""

    def __init__(self, form: ApprovalForm):
        self.form = form
        self.rows: list[int] = []  # the row each allocation sent came from

    def data(self) -> list[dict]:
        """The rows kept (filled in, not ticked 删除); raise ValidationError naming allocations.N.field."""
        entries = self.form.lines.entries
        self.rows = [row for row, entry in enumerate(entries) if entry.form.is_filled()]
        if not self.rows:
            raise ValidationError({"allocations": _("至少保留一行分配")})
        try:
            return APPROVAL.fields["allocations"].from_text([entries[row].form.texts() for row in self.rows])
        except ValidationError as error:
            raise ValidationError({f"allocations.{key}": problem
                                   for key, problem in error.details.items()}) from None

    def row(self, index: int) -> AllocationLineForm | None:
        return self.form.lines.entries[self.rows[index]].form if index < len(self.rows) else None

    def show_errors(self, form, error) -> None:
        """A line's problem on its row (the owner's on its quantity); the others on the form.
        Stock moved since the plan: each short line says what it holds now."""
        if isinstance(error, InsufficientStock):
            rows = {(entry.form.from_site.data, entry.form.material.data): entry.form
                    for entry in self.form.lines.entries}
            for short in error.details or []:
                if (row := rows.get((short.get("from_site"), short.get("material")))) is not None:
                    row.quantity.errors = [_("库存已变动：计划 %(requested)d，现仅可调 %(available)d",
                                             requested=short["requested"], available=short["available"])]
            form.form_errors = [error.message]
            return
        if not isinstance(error, ValidationError):
            show_errors(form, error)
            return
        others = {}
        for key, problem in error.details.items():
            match = ALLOCATION_FIELD.fullmatch(key)
            row = self.row(int(match[1])) if match else None
            if key == "version":
                # A hidden field: its problem is the form's (a page drawn from another plan).
                form.form_errors = [*form.form_errors, _("调度方案版本无效，请刷新页面后重试")]
            elif row is not None:
                shown = match[2] if match[2] in ("from_site", "material", "quantity") else "quantity"
                field = row[shown]
                field.errors = [*field.errors, problem]
            else:
                others[key] = problem
        if others:
            show_errors(form, ValidationError(others))


def changes_of(error: InsufficientStock, dispatch_request: Request) -> list[str]:
    """What changed per line since the plan, in words: 站点 的 物资：计划 n，现仅可调 m."""
    details = error.details or []
    materials = {line.material.code: line.material.name for line in dispatch_request.lines}
    codes = [short.get("from_site") for short in details]
    sites = dict(db.session.execute(sa.select(Site.code, Site.name).where(Site.code.in_(codes))).tuples().all())
    return [_("%(site)s 的 %(material)s：计划 %(requested)d，现仅可调 %(available)d",
              site=sites.get(short.get("from_site"), short.get("from_site", "")),
              material=materials.get(short.get("material"), short.get("material", "")),
              requested=short.get("requested", 0), available=short.get("available", 0))
            for short in details]


@blueprint.post("/requests/<int(max=2147483647):request_id>/approve")
@login_required
def approve(request_id):
    """批准调拨: the allocations as edited become one transfer per source, in transit, in one go —
    or, when stock moved since the plan, nothing is sent and each short line says so."""
    dispatch_request, page = _managed(request_id)
    # The sources on offer are a nearest-first read: once for the form and the page it is on.
    sources = _sources(dispatch_request)
    form = approval_form(dispatch_request, ApprovalForm(), sources)
    rows = Allocations(form)
    changed: list[str] = []

    def work():
        version = (form.version.data or "").strip()
        allocations = rows.data()
        data = {"driver_name": (form.driver_name.data or "").strip(),
                "driver_phone": (form.driver_phone.data or "").strip(),
                "vehicle": (form.vehicle.data or "").strip()}
        if not planning.is_the_plan(dispatch_request, allocations):
            data["allocations"] = allocations
        if version:
            number = whole_number(version)
            data["version"] = number if number is not None else version
        try:
            transfers = planning.approve(actor=current_user, request_id=dispatch_request.id, data=data)
        except InsufficientStock as error:
            changed.extend(changes_of(error, dispatch_request))
            raise
        flash(_("已批准调拨：生成调拨单 %(n)d 张，物资在途", n=len(transfers)), "success")
        return page

    def show(form, error):
        rows.show_errors(form, error)

    context = detail_context(dispatch_request, approval=form, changed=changed, sources=sources)
    return submit(form, work, done=None, template="dispatch/request.html", once=True, show=show, **context)


# --- 省级前置物资: the owner's approval --------------------------------------------------------------

@blueprint.post("/requests/<int(max=2147483647):request_id>/owner-approvals")
@login_required
def owner_approval(request_id):
    """登记所有者批准: who of the owner agreed, when, under which reference; the plan may then
    use that owner's goods."""
    dispatch_request, page = _managed(request_id)
    form = OwnerApprovalForm()

    def work():
        try:
            approved_at = AS_TIME.from_text(form.approved_at.data)
        except Invalid as problem:
            raise ValidationError({"approved_at": str(problem)}) from None
        planning.record_owner_approval(actor=current_user, request_id=dispatch_request.id, data={
            "owner": (form.owner.data or "").strip(), "approved_by": (form.approved_by.data or "").strip(),
            "approved_at": approved_at, "reference": (form.reference.data or "").strip()})
        return page

    return submit(form, work, done=_("已登记所有者批准，可重新生成方案使用其物资"),
                  template="dispatch/request.html", once=True,
                  **detail_context(dispatch_request, owner_form=form))
