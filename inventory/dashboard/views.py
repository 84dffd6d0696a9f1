"""The dashboard: the county on one screen, every number linking to the list behind it."""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from inventory.alerts.queries import alert_counts, readiness
from inventory.catalog.queries import material_count
from inventory.dashboard import queries
from inventory.sites.queries import site_counts_by_kind
from inventory.stock.queries import in_transit_count

blueprint = Blueprint("dashboard", __name__)


@blueprint.get("/")
@login_required
def index():
    """Readiness on a map, coverage of the norms, expiry by month and alert counts."""
    colours = readiness(current_user)
    columns, coverage = queries.coverage(current_user)
    months = queries.expiry_by_month(current_user)
    return render_template(
        "dashboard/index.html", site_counts=site_counts_by_kind(current_user),
        material_count=material_count(), in_transit=in_transit_count(current_user),
        counts=alert_counts(current_user), points=queries.map_points(current_user, colours),
        map_size=(queries.MAP_WIDTH, queries.MAP_HEIGHT), columns=columns, coverage=coverage,
        months=months, busiest=max([m["lots"] for m in months] + [1]))
