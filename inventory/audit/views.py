"""The audit log page, for managers."""

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from inventory.audit.models import ENTITIES
from inventory.audit.queries import audit_entries
from inventory.auth.access import authorize
from inventory.forms import page_number

blueprint = Blueprint("audit", __name__, url_prefix="/audit")


@blueprint.get("/")
@login_required
def index():
    """Who changed which master record, when, from where, old → new; newest first."""
    authorize(current_user, "audit.view")
    entity = request.args.get("entity") if request.args.get("entity") in ENTITIES else None
    key = (request.args.get("key") or "").strip()[:64] or None
    page = audit_entries(entity=entity, key=key, page=page_number())
    return render_template("audit/index.html", page=page, entity=entity, key=key or "",
                           entities=ENTITIES)
