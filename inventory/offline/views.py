"""The offline feature's pages: a user's registered phones, and the operations a sync held for a
manager to apply with a correction or reject."""

from flask import Blueprint, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.api.offline import KINDS
from inventory.auth.access import authorize
from inventory.db import db
from inventory.errors import BadRequest, InsufficientStock, InvalidState, ValidationError
from inventory.forms import ConfirmForm, page_number, press
from inventory.offline import queries, services, sync
from inventory.offline.forms import ResolutionForm
from inventory.offline.models import CONFLICT_STATUSES

blueprint = Blueprint("offline", __name__, url_prefix="/offline")
# What a manager's decision may meet: the note missing, the stock moved again, someone else first.
RESOLUTION_REFUSALS = (ValidationError, InvalidState, InsufficientStock)
PER_PAGE = 50


@blueprint.get("/devices")
@login_required
def devices():
    """离线设备: the user's phones registered for working offline (an admin sees everyone's),
    newest first; revoke one, or, as an admin, report one lost."""
    page = db.paginate(queries.devices(current_user), page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template("offline/devices.html", page=page, confirm=ConfirmForm())


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
