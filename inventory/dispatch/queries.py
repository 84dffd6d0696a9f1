"""The read side of dispatch: the incident list, requests in scope, the counts of the incident
screen, and the reports the command post sends upward — the report per material and per site,
the 首报/续报 sheet and the replenishment list after the incident.

The report is one set-based statement: every figure is a column of a UNION ALL of the rows that
make it (request lines, allocations, transfer lines, issue lines), summed per site, material and
owner in one GROUP BY (DESIGN.md §3.7; STYLE.md "Reports are queries, not loops").

Which site a figure belongs to: requests, plans, receipts and issues count at the site the goods
are for (the requesting, receiving or issuing site); ``dispatched`` counts at the source that
sent them. ``unmet`` is, per site and material, what its live requests asked for less what has
left for it (in transit or received), never below 0: a transfer made by hand for the incident
meets a need as well as one made from a plan, and two requests of one site for one material are
one need.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import clock
from inventory.alerts.queries import late_before
from inventory.auth.access import COMMAND_LINE, is_scoped, restrict_to_scope
from inventory.catalog.models import Material
from inventory.db import db
from inventory.dispatch.models import PENDING_REQUEST_STATUSES, Allocation, Incident, Request, RequestLine
from inventory.dispatch.sources import BUREAU
from inventory.errors import ValidationError
from inventory.norms.queries import binding_shortfalls
from inventory.sites.models import Site
from inventory.stock.models import Issue, IssueLine, StockItem, Transfer, TransferLine
from inventory.templating import unit_name

LEFT = ("in_transit", "received")  # a transfer whose goods have left the source
# 灾害事故1小时内报送: the first report is due within this many minutes of the incident.
FIRST_REPORT_MINUTES = 60
# What a report row counts, in the order the page, sheets and API show them.
FIGURES = ("requested", "planned", "dispatched", "in_transit", "received", "shortage", "issued",
           "returned", "outstanding_loans", "unmet")
# What the report's statement sums: every figure but unmet (worked out from them), and what is
# on its way to a site (inbound).
SUMMED = (*FIGURES[:-1], "inbound")
# Figures that come with an owner (goods on a shelf belong to someone; a request does not).
OWNED_FIGURES = ("planned", "dispatched", "in_transit", "received", "issued", "returned",
                 "outstanding_loans")


# --- lists -----------------------------------------------------------------------------------------

def incidents(status=None):
    """A select of incidents, open ones first, newest first (incidents are read by everyone who
    may view dispatch)."""
    query = sa.select(Incident).order_by(Incident.status != "open", Incident.started_at.desc(),
                                         Incident.id.desc())
    if status is not None:
        query = query.where(Incident.status == status)
    return query


def requests(user, *, incident=None, status=None):
    """A select of the requests to sites in the user's scope, newest first."""
    query = (sa.select(Request).join(Site, Site.id == Request.to_site_id)
             .order_by(Request.created_at.desc(), Request.id.desc()))
    query = restrict_to_scope(query, user, Site.path)
    if incident is not None:
        query = query.where(Request.incident_id == getattr(incident, "id", incident))
    if status is not None:
        query = query.where(Request.status == status)
    return query


def _open_requests(incident: Incident) -> int:
    """How many of the incident's requests still wait for goods."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Request).where(
        Request.incident_id == incident.id, Request.status.in_(PENDING_REQUEST_STATUSES)))


def incident_counts(incident: Incident) -> dict[str, int]:
    """The incident screen's counts: requests waiting for goods, needs (site × material) not
    yet sent, the incident's transfers on the road, and those of them late — by the alerts' own
    rule, so the screen and the alerts agree."""
    open_requests = _open_requests(incident)
    late = sa.case((Transfer.dispatched_at < late_before(clock.today()), 1), else_=0)
    in_transit, overdue = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(late), 0))
        .where(Transfer.incident_id == incident.id, Transfer.status == "in_transit")).one()
    unmet_lines = sum(1 for row in report(COMMAND_LINE, incident).rows if row.unmet)
    return {"open_requests": int(open_requests), "unmet_lines": unmet_lines,
            "in_transit": int(in_transit), "overdue_transfers": int(overdue)}


# --- the report ----------------------------------------------------------------------------------

@dataclass
class ReportRow:
    """One site and material (and, in the other owners' block, one owner)."""

    site: str
    site_name: str
    material: str
    material_name: str
    unit: str
    owner: str | None = None
    requested: int = 0
    planned: int = 0
    dispatched: int = 0
    in_transit: int = 0   # on the road to this site
    received: int = 0
    shortage: int = 0     # sent to this site, not there on receipt (收货短少)
    issued: int = 0
    returned: int = 0
    outstanding_loans: int = 0
    unmet: int = 0
    inbound: int = 0      # left for this site (in transit or received): what meets its requests

    def add(self, other: "ReportRow") -> None:
        for name in (*FIGURES, "inbound"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self) -> list[int]:
        return [getattr(self, name) for name in FIGURES]


@dataclass
class Report:
    """The incident's figures: per site and material (``rows``), per material (``totals``), and
    the part of them that is another owner's goods (``owned``: 省级前置物资 and the like)."""

    incident: Incident
    rows: list[ReportRow]
    totals: list[ReportRow]
    owned: list[ReportRow]
    scoped: bool  # limited to the user's sites (a keeper's or auditor's view)
    generated_at: dt.datetime = field(default_factory=clock.now)


def _zero():
    return sa.literal(0, sa.Integer)


def _part(site_id, material_id, owner, **figures):
    """One source of the report's rows: (site, material, owner) and the figures it gives."""
    columns = [site_id.label("site_id"), material_id.label("material_id"), owner.label("owner")]
    columns += [sa.type_coerce(figures.get(name, _zero()), sa.Integer).label(name)
                for name in SUMMED]
    return sa.select(*columns)


def _figure_rows(incident_id: int):
    """Every row that adds to a figure of the incident's report, in one UNION ALL."""
    no_owner = sa.null().cast(sa.String(100))
    requested = (_part(Request.to_site_id, RequestLine.material_id, no_owner,
                       requested=RequestLine.quantity)
                 .select_from(RequestLine).join(Request, Request.id == RequestLine.request_id)
                 .where(Request.incident_id == incident_id, Request.status != "cancelled"))
    planned = (_part(Request.to_site_id, Allocation.material_id, Allocation.owner,
                     planned=Allocation.quantity)
               .select_from(Allocation).join(Request, Request.id == Allocation.request_id)
               .where(Request.incident_id == incident_id, Request.status.in_(("planned", "approved"))))

    def transfer_lines(site_id, **figures):
        return (_part(site_id, TransferLine.material_id, StockItem.owner, **figures)
                .select_from(TransferLine).join(Transfer, Transfer.id == TransferLine.transfer_id)
                .join(StockItem, StockItem.id == TransferLine.from_item_id)
                .where(Transfer.incident_id == incident_id, Transfer.status.in_(LEFT)))

    arrived = Transfer.status == "received"
    dispatched = transfer_lines(Transfer.from_site_id, dispatched=TransferLine.quantity)
    inbound = transfer_lines(
        Transfer.to_site_id, inbound=TransferLine.quantity,
        in_transit=sa.case((Transfer.status == "in_transit", TransferLine.quantity), else_=0),
        received=sa.case((arrived, sa.func.coalesce(TransferLine.received, 0)), else_=0),
        shortage=sa.case((arrived, TransferLine.quantity - sa.func.coalesce(TransferLine.received, 0)),
                         else_=0))
    outstanding = IssueLine.quantity - IssueLine.returned - IssueLine.damaged - IssueLine.lost
    issued = (_part(Issue.site_id, StockItem.material_id, StockItem.owner, issued=IssueLine.quantity,
                    returned=IssueLine.returned + IssueLine.damaged,
                    outstanding_loans=sa.case((IssueLine.is_loan, outstanding), else_=0))
              .select_from(IssueLine)
              .join(Issue, Issue.id == IssueLine.issue_id)
              .join(StockItem, StockItem.id == IssueLine.item_id)
              .where(Issue.incident_id == incident_id, Issue.reversed_at.is_(None)))
    return sa.union_all(requested, planned, dispatched, inbound, issued).subquery("figures")


def _statement(user, incident_id: int):
    figures = _figure_rows(incident_id)
    sums = [sa.func.sum(figures.c[name]).label(name) for name in SUMMED]
    query = (sa.select(Site.code, Site.name, Material.code, Material.name, Material.unit,
                       figures.c.owner, *sums)
             .join(Site, Site.id == figures.c.site_id)
             .join(Material, Material.id == figures.c.material_id)
             .group_by(Site.id, Site.code, Site.name, Site.path, Material.id, Material.code,
                       Material.name, Material.unit, figures.c.owner)
             .order_by(Site.path, Material.code, figures.c.owner))
    return restrict_to_scope(query, user, Site.path)


def report(user, incident: Incident) -> Report:
    """The incident's figures for the sites in the user's scope (one statement)."""
    rows: dict[tuple, ReportRow] = {}
    owned: list[ReportRow] = []
    for site, site_name, material, material_name, unit, owner, *values in db.session.execute(
            _statement(user, incident.id)):
        part = ReportRow(site, site_name, material, material_name, unit_name(unit), owner,
                         **{name: int(value or 0) for name, value in
                            zip(SUMMED, values, strict=True)})
        if owner is not None and owner != BUREAU:
            owned.append(part)
        row = rows.get((site, material))
        if row is None:
            rows[(site, material)] = ReportRow(site, site_name, material, material_name, part.unit)
            row = rows[(site, material)]
        row.add(part)
    totals: dict[str, ReportRow] = {}
    for row in rows.values():
        row.unmet = max(0, row.requested - row.inbound)
        total = totals.setdefault(row.material, ReportRow("", "", row.material, row.material_name,
                                                          row.unit))
        total.add(row)
    return Report(incident=incident, rows=list(rows.values()),
                  totals=sorted(totals.values(), key=lambda row: row.material), owned=owned,
                  scoped=is_scoped(user))


# --- 首报 / 续报 -----------------------------------------------------------------------------------

MAX_SEQUENCE = 999


def report_sequence(text: str | None) -> int:
    """The report's sequence as a page or the API asks for it (``?sequence=``): empty or 0 for the
    首报, n for the n-th 续报; anything else is the field's error (422)."""
    text = text or "0"
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses.
    if not re.fullmatch(r"[0-9]{1,9}", text) or int(text) > MAX_SEQUENCE:
        raise ValidationError({"sequence": _("报送次数应为 0 到 %(n)d 的整数（0 为首报）", n=MAX_SEQUENCE)})
    return int(text)


def report_title(sequence: int) -> str:
    """首报 for sequence 0, 续报（第 n 次） after it."""
    return _("首报") if sequence == 0 else _("续报（第 %(n)d 次）", n=sequence)


def one_hour_clock(started_at: dt.datetime, at: dt.datetime) -> dict:
    """Minutes since the incident started against the one-hour target (灾害事故1小时内报送)."""
    elapsed = max(0, int((at - started_at).total_seconds() // 60))
    left = FIRST_REPORT_MINUTES - elapsed
    text = (_("剩余 %(n)d 分钟", n=left) if left > 0 else
            _("已超时 %(n)d 分钟", n=-left) if left < 0 else _("已到时限"))
    return {"minutes_since_start": elapsed, "target_minutes": FIRST_REPORT_MINUTES,
            "minutes_left": max(0, left), "overdue": left <= 0, "text": text}


def first_report(incident: Incident, *, user=COMMAND_LINE, sequence: int = 0) -> dict:
    """The 首报 (``sequence`` 0) or n-th 续报 as the duty office sends it upward: what, where,
    how bad, the people, the goods sent and still on the road, the needs not yet met, and the
    time since the incident started against the one-hour target. The sequence is the duty
    officer's to choose (the sheet is made on demand and never recorded); the people and areas
    are the incident's, the goods those of the user's scope (a keeper's sheet says so)."""
    at = clock.now()
    figures = report(user, incident)
    areas = [{"site": entry.site.code, "name": entry.site.name, "cut_off": entry.cut_off,
              "affected_people": entry.affected_people, "displaced_people": entry.displaced_people}
             for entry in sorted(incident.areas, key=lambda entry: entry.site.path)]
    goods = [{"material": total.material, "name": total.material_name, "unit": total.unit,
              "dispatched": total.dispatched, "in_transit": total.in_transit,
              "received": total.received, "issued": total.issued}
             for total in figures.totals if total.dispatched or total.issued]
    unmet = [{"site": row.site, "site_name": row.site_name, "material": row.material,
              "name": row.material_name, "unit": row.unit, "requested": row.requested,
              "quantity": row.unmet} for row in figures.rows if row.unmet]
    unmet_totals = [{"material": total.material, "name": total.material_name, "unit": total.unit,
                     "quantity": total.unmet} for total in figures.totals if total.unmet]
    return {
        "incident": incident, "sequence": sequence, "kind": "first" if sequence == 0 else "follow_up",
        "title": report_title(sequence), "started_at": incident.started_at, "generated_at": at,
        "areas": areas, "cut_off_sites": [site.code for site in incident.cut_off_sites],
        "affected_people": sum(area["affected_people"] for area in areas),
        "displaced_people": sum(area["displaced_people"] for area in areas),
        "goods": goods, "unmet": unmet, "unmet_totals": unmet_totals,
        "open_requests": _open_requests(incident),
        "clock": one_hour_clock(incident.started_at, at), "scoped": figures.scoped,
    }


# --- replenishment (补库清单) ------------------------------------------------------------------------

@dataclass
class Replenishment:
    """What to buy to bring every site the incident drew on back to its norms."""

    incident: Incident
    rows: list[dict]      # per site and binding norm: required, usable, shortfall
    purchases: list[dict]  # per material (or the materials a norm accepts): the quantity to buy
    scoped: bool
    generated_at: dt.datetime = field(default_factory=clock.now)

    @property
    def finished(self) -> bool:
        return not self.incident.is_open


def _sites_drawn_on(incident_id: int) -> dict[int, Site]:
    """Sites that sent or received goods for the incident, or issued them (one statement)."""
    touched = sa.union(
        sa.select(Transfer.from_site_id.label("site_id"))
        .where(Transfer.incident_id == incident_id, Transfer.status.in_(LEFT)),
        sa.select(Transfer.to_site_id).where(Transfer.incident_id == incident_id, Transfer.status.in_(LEFT)),
        sa.select(Issue.site_id).where(Issue.incident_id == incident_id, Issue.reversed_at.is_(None)),
    ).subquery()
    return {site.id: site for site in db.session.scalars(
        sa.select(Site).where(Site.id.in_(sa.select(touched.c.site_id))).order_by(Site.path))}


def replenishment(incident: Incident, *, user=COMMAND_LINE) -> Replenishment:
    """The norm shortfall now of each site that sent, received or issued goods for the incident
    (norms/queries.binding_shortfalls: one row per site and group of norms, the binding one),
    and the same summed per material — what to buy. Allowed while the incident is open."""
    drawn_on = _sites_drawn_on(incident.id)
    sites = {site.code: site for site in drawn_on.values()}
    short = binding_shortfalls(user, site_ids=drawn_on) if drawn_on else []
    codes = {code for row in short for code in row["materials"]}
    materials = {material.code: material for material in db.session.scalars(
        sa.select(Material).where(Material.code.in_(codes)))} if codes else {}
    rows, purchases = [], {}
    for row in short:
        site, accepted = sites[row["site"]], tuple(row["materials"])
        names = [materials[code].name for code in accepted]
        rows.append({**row, "site_name": site.name, "path": site.path, "material_names": names})
        # A norm met by any of several materials: buy the first (by code), the others count too.
        line = purchases.setdefault(accepted, {
            "materials": list(accepted), "names": names, "quantity": 0, "sites": 0,
            "unit": unit_name(materials[accepted[0]].unit) if accepted else ""})
        line["quantity"] += row["shortfall"]
        line["sites"] += 1
    rows.sort(key=lambda row: (row["path"], row["name"]))
    return Replenishment(incident=incident, rows=rows,
                         purchases=sorted(purchases.values(), key=lambda line: line["materials"]),
                         scoped=is_scoped(user))
