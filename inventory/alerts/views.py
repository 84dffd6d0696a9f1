"""The alerts page."""


from flask import Blueprint, render_template
from flask_login import current_user, login_required

from inventory import clock
from inventory.alerts import queries

blueprint = Blueprint("alerts", __name__, url_prefix="/alerts")


@blueprint.get("/")
@login_required
def index():
    """Everything that needs attention, within the user's scope, each with its list."""
    return render_template("alerts/index.html", found=queries.alerts(current_user),
                           today=clock.today(), limit=queries.LIST_LIMIT)
