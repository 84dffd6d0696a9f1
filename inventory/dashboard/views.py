"""The dashboard: the county on one screen, every number linking to the list behind it."""

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from inventory.alerts.queries import alert_counts, readiness
from inventory.catalog.queries import material_count
from inventory.dashboard import queries
from inventory.sites.queries import site_counts_by_kind
from inventory.stock.queries import count_of, in_transit_count, loans
from inventory.stocktakes import queries as stocktake_queries

blueprint = Blueprint("dashboard", __name__)


@blueprint.get("/")
@login_required
def index():
    """The towns that need attention most (all of them with ?towns=all), readiness on a map,
    coverage of the norms, expiry by month, alert counts and how many sites had their quarterly
    count; a keeper's home is the day's work instead (tasks)."""
    if current_user.role == "keeper":
        return tasks()
    states = queries.graded(readiness(current_user), queries.site_gaps(current_user))
    towns = queries.town_ranking(current_user, states)
    every_town = request.args.get("towns") == "all"
    columns, coverage = queries.coverage(current_user)
    months = queries.expiry_by_month(current_user)
    county_map = queries.county_map(current_user, states)
    return render_template(
        "dashboard/index.html", site_counts=site_counts_by_kind(current_user),
        material_count=material_count(), in_transit=in_transit_count(current_user),
        counts=alert_counts(current_user), points=county_map["points"],
        outline=county_map["outline"],
        map_size=(queries.MAP_WIDTH, queries.MAP_HEIGHT), grade_names=queries.GRADE_NAMES,
        towns=towns if every_town else towns[:queries.RANKING_LIMIT], town_total=len(towns),
        every_town=every_town, ranking_limit=queries.RANKING_LIMIT, columns=columns,
        coverage=coverage, months=months, busiest=max([m["lots"] for m in months] + [1]),
        audited=stocktake_queries.coverage(current_user))


def tasks():
    """A keeper's home: scan, issue, receive, take back, transfer, count (while a stocktake of
    the own sites is counting), and the own site's alerts."""
    site = current_user.sites[0] if current_user.sites else None
    counting = stocktake_queries.counting_now(current_user)
    return render_template("dashboard/tasks.html", site=site, counts=alert_counts(current_user),
                           loans_out=count_of(loans(current_user, site=site)),
                           in_transit=in_transit_count(current_user), counting=counting)


@blueprint.get("/more")
@login_required
def more():
    """更多: the role's whole menu, for a phone whose tab bar holds only the most frequent."""
    return render_template("dashboard/more.html")
