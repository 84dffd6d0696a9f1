"""The incident list (灾情调度): open incidents first."""

import sqlalchemy as sa
from flask import render_template
from flask_login import login_required

from inventory.db import db
from inventory.dispatch.models import Incident
from inventory.dispatch.views.common import blueprint


@blueprint.get("/")
@login_required
def index():
    """Incidents, open ones first, newest first."""
    incidents = db.session.scalars(sa.select(Incident).order_by(
        Incident.status != "open", Incident.started_at.desc(), Incident.id.desc()).limit(200)).all()
    return render_template("dispatch/index.html", incidents=incidents)
