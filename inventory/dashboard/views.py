"""The dashboard."""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from inventory.catalog.queries import material_count
from inventory.sites.queries import site_counts_by_kind
from inventory.stock.queries import attention_counts

blueprint = Blueprint("dashboard", __name__)


@blueprint.get("/")
@login_required
def index():
    """What needs attention and what the user looks after, each number linking to its list."""
    return render_template("dashboard/index.html", site_counts=site_counts_by_kind(current_user),
                           material_count=material_count(),
                           attention=attention_counts(current_user))
