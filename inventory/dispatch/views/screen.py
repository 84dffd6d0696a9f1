"""The incident screen: what the command post watches while an incident is open — the header,
the counts (open requests, unmet lines, transfers on the road and overdue) linked to their lists,
the areas with their people, the county map (affected, cut-off and source sites, transfers on the
road as lines), the requests and the timeline. static/js/incident-screen.js refreshes the counts,
the transfers and the timeline's head from ``/incidents/<id>/live`` while the tab is shown."""

import sqlalchemy as sa
from flask import jsonify, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import can_somewhere
from inventory.dashboard import maps
from inventory.dashboard.queries import DOT_RADIUS, VILLAGE_RADIUS, map_sites, place_labels, short_name
from inventory.db import db
from inventory.dispatch import queries
from inventory.dispatch.forms import DispatchActionForm
from inventory.dispatch.models import PENDING_REQUEST_STATUSES, Allocation, Incident, Request
from inventory.dispatch.views.common import blueprint, incident_or_404
from inventory.feed.queries import timeline, timeline_count
from inventory.stock import queries as stock_queries
from inventory.stock.models import Transfer

TIMELINE_SHOWN = 50
REQUESTS_SHOWN = 20
TRANSFERS_SHOWN = 200
LIVE_TIMELINE = 10
# How often the open screen asks for news (static/js/incident-screen.js reads it from the page).
REFRESH_SECONDS = 20
EVENT_NAMES = {
    "incident.opened": _l("立案"), "incident.changed": _l("修改灾情"), "incident.closed": _l("结束事件"),
    "request.created": _l("需求申报"), "request.cancelled": _l("撤销申报"),
    "request.planned": _l("生成调拨方案"), "request.approved": _l("批准调拨"),
    "transfer.dispatched": _l("调拨发出"), "transfer.received": _l("调拨收货"),
    "issue.created": _l("发放"), "owner_approval.recorded": _l("登记所有者批准"),
}
# What a site is on the incident's map, most telling first: its dot's class and label priority.
ROLES = ("cut_off", "affected", "source", "destination")


# --- what the screen shows -----------------------------------------------------------------------

def elapsed(incident: Incident) -> dict:
    """Time since the incident started: minutes, and as the screen prints it (3 小时 05 分)."""
    minutes = max(0, int((clock.now() - incident.started_at).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = _("%(d)d 天 %(h)d 小时", d=days, h=hours)
    elif hours:
        text = _("%(h)d 小时 %(m)02d 分", h=hours, m=mins)
    else:
        text = _("%(m)d 分钟", m=mins)
    return {"minutes": minutes, "text": text}


def on_the_road(incident: Incident) -> list[Transfer]:
    """The incident's transfers in transit that the user may see (from or to their sites)."""
    return list(db.session.scalars(
        stock_queries.transfers(current_user, status="in_transit", incident=incident)
        .options(sa.orm.lazyload(Transfer.lines)).limit(TRANSFERS_SHOWN)))


def visible_timeline(incident: Incident, latest: int) -> list:
    """The newest ``latest`` events of the incident the user may see, newest first."""
    return timeline(incident, current_user, latest=latest)[::-1]


def incident_requests(incident: Incident) -> list[Request]:
    """The incident's requests to the user's sites, pending ones first, newest first."""
    return list(db.session.scalars(
        queries.requests(current_user, incident=incident)
        .order_by(None).order_by(Request.status.not_in(PENDING_REQUEST_STATUSES), Request.id.desc())
        .limit(REQUESTS_SHOWN)))


def event_text(event) -> str:
    """One line of the timeline: what happened, where, to what."""
    what = str(EVENT_NAMES.get(event.type, event.type))
    parts = [what]
    if event.site is not None:
        parts.append(event.site.name)
    if event.type.startswith("transfer.") or event.type.startswith("issue."):
        parts.append(str(event.ref))
    elif event.type.startswith("request."):
        parts.append(_("申报 #%(id)s", id=event.ref))
    if event.user is not None:
        parts.append(event.user.display_name or event.user.username)
    return " · ".join(parts)


# --- the map -------------------------------------------------------------------------------------

def _sources(incident: Incident, transfers: list[Transfer]) -> set[int]:
    """Sites goods for the incident come from: planned or sent allocations, transfers on the road."""
    planned = set(db.session.scalars(
        sa.select(Allocation.from_site_id).join(Request, Allocation.request_id == Request.id)
        .where(Request.incident_id == incident.id, Request.status.in_(("planned", "approved")))
        .distinct()))
    return planned | {transfer.from_site_id for transfer in transfers}


def incident_map(incident: Incident, transfers: list[Transfer]) -> dict:
    """The county map for the incident: every site the user sees as a dot marked by its role
    (cut off, affected, source, destination), the transfers on the road as lines from source to
    destination, the county's outline when boundary data is loaded. Labels never overlap: the
    sites with a role are named first, then the other towns, and a name with no free spot is
    left off (its dot's title still names it)."""
    sites = map_sites(current_user)
    if not sites:
        return {"points": [], "lines": [], "outline": ""}
    outline = maps.boundary()
    project = maps.fit(sites, outline)
    cut_off = {entry.site_id for entry in incident.sites if entry.cut_off}
    affected = {entry.site_id for entry in incident.sites if entry.affected}
    sources = _sources(incident, transfers)
    destinations = {transfer.to_site_id for transfer in transfers}
    points, where = [], {}
    for site in sites:
        x, y = project(site.longitude, site.latitude)
        roles = [role for role, ids in zip(ROLES, (cut_off, affected, sources, destinations), strict=True)
                 if site.id in ids]
        point = {"site": site, "x": x, "y": y, "r": DOT_RADIUS.get(site.kind, VILLAGE_RADIUS),
                 "roles": roles, "label": None}
        points.append(point)
        where[site.id] = point
    named = [index for index, point in enumerate(points)
             if point["roles"] or point["site"].kind in ("county_depot", "town_store")]
    order = sorted(named, key=lambda index: (
        ROLES.index(points[index]["roles"][0]) if points[index]["roles"] else len(ROLES),
        points[index]["site"].kind != "county_depot", index))
    marks = [{"x": points[index]["x"], "y": points[index]["y"], "r": points[index]["r"],
              "text": short_name(points[index]["site"].name)} for index in order]
    # Unnamed dots (villages, agreement sites) are obstacles too: no name is printed over one.
    others = [{"x": point["x"], "y": point["y"], "r": point["r"], "text": None}
              for index, point in enumerate(points) if index not in set(named)]
    for index, label in zip(order, place_labels(marks + others)[:len(marks)], strict=True):
        points[index]["label"] = label
    return {"points": points, "lines": road_lines(transfers, where),
            "outline": maps.outline_path(outline, project)}


def road_lines(transfers: list[Transfer], where: dict) -> list[dict]:
    """The transfers on the road as lines between their sites' places on the map (``where``:
    site id → anything with "x" and "y"); one whose end is not on the user's map is left off."""
    return [{"number": transfer.number, "x1": where[transfer.from_site_id]["x"],
             "y1": where[transfer.from_site_id]["y"], "x2": where[transfer.to_site_id]["x"],
             "y2": where[transfer.to_site_id]["y"],
             "title": f"{transfer.number} {transfer.from_site.name} → {transfer.to_site.name}"}
            for transfer in transfers if transfer.from_site_id in where and transfer.to_site_id in where]


def _places(sites) -> dict[int, dict]:
    """Where each site is on the map (the projection incident_map draws with), and nothing else:
    what the live answer needs to draw the roads, without roles or labels."""
    if not sites:
        return {}
    project = maps.fit(sites, maps.boundary())
    return {site.id: dict(zip(("x", "y"), project(site.longitude, site.latitude), strict=True))
            for site in sites}


def _links(incident: Incident) -> dict:
    """The lists the counts stand for, and the reports."""
    links = {
        "open_requests": url_for("dispatch.requests", incident_id=incident.id, status="pending"),
        "unmet_lines": url_for("dispatch.requests", incident_id=incident.id, status="pending",
                               _anchor="unmet"),
        "in_transit": url_for("stock.transfers", incident=incident.id, status="in_transit"),
        "overdue_transfers": url_for("stock.transfers", incident=incident.id, status="in_transit"),
    }
    for name in ("report", "first_report"):
        links[name] = url_for(f"dispatch.{name}", incident_id=incident.id)
    return links


def _transfer_rows(transfers: list[Transfer]) -> list[dict]:
    return [{"number": transfer.number, "url": url_for("stock.transfer", number=transfer.number),
             "from": transfer.from_site.name, "to": transfer.to_site.name,
             "driver": transfer.driver_name, "vehicle": transfer.vehicle,
             "dispatched_at": transfer.dispatched_at.isoformat() if transfer.dispatched_at else None,
             # As every time on the page: the bureau's clock, not UTC nor the phone's zone.
             "dispatched": format_datetime(transfer.dispatched_at, "yyyy-MM-dd HH:mm")
             if transfer.dispatched_at else ""}
            for transfer in transfers]


@blueprint.get("/<int(max=2147483647):incident_id>")
@login_required
def screen(incident_id):
    """灾情事件: the incident screen (header, counts, areas, map, requests, timeline)."""
    incident = incident_or_404(incident_id)
    transfers = on_the_road(incident)
    events = visible_timeline(incident, TIMELINE_SHOWN)
    return render_template(
        "dispatch/screen.html", incident=incident, elapsed=elapsed(incident),
        counts=queries.incident_counts(incident), links=_links(incident),
        transfers=_transfer_rows(transfers), map=incident_map(incident, transfers),
        map_size=(maps.MAP_WIDTH, maps.MAP_HEIGHT), events=events,
        event_total=timeline_count(incident, current_user), event_text=event_text,
        requests=incident_requests(incident),
        may_request=incident.is_open and can_somewhere(current_user, "dispatch.request"),
        action=DispatchActionForm(), refresh=REFRESH_SECONDS)


@blueprint.get("/<int(max=2147483647):incident_id>/live")
@login_required
def live(incident_id):
    """What the open screen refreshes (JSON): the counts, the transfers on the road (with their
    lines on the map) and the newest events of the timeline."""
    incident = incident_or_404(incident_id)
    transfers = on_the_road(incident)
    events = visible_timeline(incident, LIVE_TIMELINE)
    return jsonify(
        incident={"id": incident.id, "status": incident.status, "version": incident.version},
        elapsed=elapsed(incident), counts=queries.incident_counts(incident),
        transfers=_transfer_rows(transfers),
        lines=road_lines(transfers, _places(map_sites(current_user))),
        timeline=[{"id": event.id, "at": event.at.isoformat(), "when": format_datetime(event.at, "MM-dd HH:mm"),
                   "type": event.type, "text": event_text(event)} for event in events],
        refresh=REFRESH_SECONDS)
