"""The incident actions: open, edit and close an incident, and take requests (需求申报) for it.

Every public function is one unit of work (db.transactional) that validates its input against
dispatch/schemas.py and authorises at the choke point. None of them moves stock: a plan
(dispatch/planning.py) decides where goods come from, and its approval sends them through the
stock module's transfers. Every change is also an event of the change feed (feed/services.py),
which is the incident's timeline. Looking an incident up (get_incident, open_incident_for) is in
dispatch/lookup.py, which the stock actions use without importing this module back.
"""

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import clock
from inventory.audit.services import changes_between
from inventory.auth.access import authorize, authorize_somewhere
from inventory.catalog.queries import materials_of_lines
from inventory.db import db, transactional
from inventory.dispatch.lookup import get_incident
from inventory.dispatch.models import PENDING_REQUEST_STATUSES, Incident, IncidentSite, Request, RequestLine
from inventory.dispatch.schemas import INCIDENT, INCIDENT_CHANGES, REQUEST
from inventory.errors import InvalidState, NotFound, ValidationError
from inventory.feed.services import record
from inventory.sites.models import Site
from inventory.stock.lookup import site_for
from inventory.validation import listing, load

# --- what the actions look up ------------------------------------------------------------------

def get_request(request_id: int) -> Request:
    """The request of this id; raise NotFound."""
    request = db.session.get(Request, request_id)
    if request is None:
        raise NotFound(_("需求申报 %(id)s 不存在", id=request_id))
    return request


def visible_incident(actor, incident_id: int) -> Incident:
    """The incident of this id (NotFound), for anyone who may read incidents (else Forbidden):
    everyone who reads incidents reads every one."""
    incident = get_incident(incident_id)
    authorize_somewhere(actor, "dispatch.view")
    return incident


def visible_request(actor, request_id: int) -> Request:
    """The request if ``actor`` may see its site (else Forbidden, logged)."""
    request = get_request(request_id)
    authorize(actor, "dispatch.view", request.to_site)
    return request


def snapshot(incident: Incident) -> dict:
    """What an edit can change, as the timeline shows it changed."""
    return {
        "name": incident.name, "type": incident.type, "level": incident.level,
        "started_at": incident.started_at.isoformat(), "note": incident.note,
        "areas": sorted(entry.site.code for entry in incident.sites if entry.affected),
        "cut_off_sites": sorted(entry.site.code for entry in incident.sites if entry.cut_off),
        "people": {entry.site.code: [entry.affected_people, entry.displaced_people]
                   for entry in incident.sites if entry.affected_people or entry.displaced_people},
    }


# --- incidents ---------------------------------------------------------------------------------

def _sites(codes_by_field: dict[str, set[str]]) -> dict[str, Site]:
    """The sites of every field's codes; each unknown code is named in its own field's error."""
    codes = sorted(set().union(*codes_by_field.values()))
    found = {site.code: site for site in db.session.scalars(
        sa.select(Site).where(Site.code.in_(codes)).options(sa.orm.lazyload(Site.parent)))} if codes else {}
    errors = {field: _("站点不存在：%(codes)s", codes=listing(sorted(given - found.keys())))
              for field, given in codes_by_field.items() if given - found.keys()}
    if errors:
        raise ValidationError(errors)
    return found


def _apply(incident: Incident, fields: dict) -> None:
    """Set an incident's fields and sites from validated ``fields`` (those given)."""
    for name in ("name", "type", "level", "started_at", "note"):
        if name in fields:
            setattr(incident, name, fields[name] if name != "note" else fields[name] or "")
    if fields.get("started_at") and fields["started_at"] > clock.now():
        raise ValidationError({"started_at": _("发生时间不能晚于现在")})
    if not {"areas", "people", "cut_off_sites"} & fields.keys():
        return
    current = {entry.site.code: entry for entry in incident.sites}
    people = {entry["site"]: entry for entry in fields.get("people") or []}
    if len(people) != len(fields.get("people") or []):
        raise ValidationError({"people": _("同一站点只能填写一次")})
    areas = (set(fields["areas"] or []) if "areas" in fields else
             {code for code, entry in current.items() if entry.affected}) | people.keys()
    cut_off = (set(fields["cut_off_sites"] or []) if "cut_off_sites" in fields else
               {code for code, entry in current.items() if entry.cut_off})
    sites = _sites({"areas": areas, "cut_off_sites": cut_off})
    kept = []
    for code in sorted(areas | cut_off):
        entry = current.get(code) or IncidentSite(site=sites[code])
        entry.affected, entry.cut_off = code in areas, code in cut_off
        if code in people:
            entry.affected_people = people[code].get("affected_people") or 0
            entry.displaced_people = people[code].get("displaced_people") or 0
        elif "people" in fields or not entry.affected:
            entry.affected_people = entry.displaced_people = 0
        kept.append(entry)
    incident.sites = kept


@transactional
def open_incident(*, actor, data: dict) -> Incident:
    """立案: a new incident, open, with the sites it touches."""
    authorize(actor, "dispatch.manage")
    fields = load(INCIDENT, data)
    incident = Incident(created_by_id=getattr(actor, "id", None), note="")
    _apply(incident, fields)
    db.session.add(incident)
    db.session.flush()
    record("incident.opened", incident.id, incident=incident, actor=actor, data=snapshot(incident))
    return incident


@transactional
def update_incident(*, actor, incident_id: int, changes: dict) -> Incident:
    """Edit an open incident (PATCH: only the fields given); the timeline keeps old → new."""
    authorize(actor, "dispatch.manage")
    fields = load(INCIDENT_CHANGES, changes, partial=True)
    incident = get_incident(incident_id)
    if not incident.is_open:
        raise InvalidState(_("灾情事件“%(name)s”已结束，不能修改", name=incident.name))
    version = fields.pop("version", None)
    if version is not None and version != incident.version:
        raise InvalidState(_("灾情事件已被他人修改，请刷新后重试"))
    before = snapshot(incident)
    _apply(incident, fields)
    db.session.flush()
    difference = changes_between(before, snapshot(incident))
    if difference:
        # Conditional on the version read: of two edits at once, the second is refused.
        bumped = db.session.execute(
            sa.update(Incident).where(Incident.id == incident.id, Incident.version == incident.version)
            .values(version=Incident.version + 1).execution_options(synchronize_session=False)).rowcount
        if bumped != 1:
            raise InvalidState(_("灾情事件已被他人修改，请刷新后重试"))
        db.session.refresh(incident)
        record("incident.changed", incident.id, incident=incident, actor=actor, data=difference)
    return incident


@transactional
def close_incident(*, actor, incident_id: int) -> Incident:
    """结案: no more requests; what is on the road is still received, loans still come back."""
    authorize(actor, "dispatch.manage")
    incident = get_incident(incident_id)
    closed = db.session.execute(
        sa.update(Incident).where(Incident.id == incident.id, Incident.status == "open")
        .values(status="closed", closed_at=clock.now(), version=Incident.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    if closed != 1:
        raise InvalidState(_("灾情事件“%(name)s”已结束", name=incident.name))
    db.session.refresh(incident)
    record("incident.closed", incident.id, incident=incident, actor=actor)
    return incident


# --- requests ----------------------------------------------------------------------------------

def requesting_site(actor, incident_id: int, code: str):
    """(incident, site) of a request the actor makes (or works out) for site ``code``: the
    incident must exist (NotFound) and be open (InvalidState), the site too (ValidationError on
    to_site), and be one the actor may ask for (Forbidden)."""
    incident = get_incident(incident_id)
    site = site_for(code, "to_site")
    authorize(actor, "dispatch.request", site)
    if not incident.is_open:
        raise InvalidState(_("灾情事件“%(name)s”已结束，不能再申报需求", name=incident.name))
    return incident, site


@transactional
def create_request(*, actor, incident_id: int, data: dict) -> Request:
    """需求申报: what a site asks for, one line per material."""
    fields = load(REQUEST, data)
    incident, site = requesting_site(actor, incident_id, fields["to_site"])
    errors = {}
    if not site.active:
        errors["to_site"] = _("站点已停用")
    materials, line_errors = materials_of_lines(fields["lines"])
    errors.update(line_errors)
    if errors:
        raise ValidationError(errors)
    request = Request(incident=incident, to_site=site, note=fields.get("note") or "",
                      created_by_id=getattr(actor, "id", None),
                      lines=[RequestLine(material=materials[line["material"]], quantity=line["quantity"])
                             for line in fields["lines"]])
    db.session.add(request)
    db.session.flush()
    record("request.created", request.id, site=site, incident=incident, actor=actor,
           data={"to_site": site.code,
                 "lines": [{"material": line.material.code, "quantity": line.quantity}
                           for line in request.lines]})
    return request


@transactional
def cancel_request(*, actor, request_id: int) -> Request:
    """撤销 a request nothing has been sent for yet."""
    request = get_request(request_id)
    authorize(actor, "dispatch.request", request.to_site)
    cancelled = db.session.execute(
        sa.update(Request).where(Request.id == request.id, Request.status.in_(PENDING_REQUEST_STATUSES))
        .values(status="cancelled", version=Request.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    if cancelled != 1:
        raise InvalidState(_("需求申报 %(id)d 已批准调拨或已撤销", id=request.id))
    db.session.refresh(request)
    record("request.cancelled", request.id, site=request.to_site, incident=request.incident_id, actor=actor)
    return request
