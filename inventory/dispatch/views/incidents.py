"""The incident pages (灾情调度): the list, open ones first; 立案; editing an open incident (its
areas, cut-off sites and people); closing it. Everyone reads; dispatchers and managers act."""

import re

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import authorize, restrict_to_scope
from inventory.db import db
from inventory.dispatch import queries, services
from inventory.dispatch.forms import DispatchActionForm, IncidentForm
from inventory.dispatch.models import STATUSES, Incident
from inventory.dispatch.views.common import blueprint, incident_or_404
from inventory.errors import ValidationError
from inventory.forms import FORM_ERRORS, choices, page_number, press, show_errors, submit
from inventory.sites.models import Site
from inventory.validation import DateTime, Integer, Invalid, whole_number

# The sites an incident form offers as areas and cut-off sites: where people live and where the
# trucks go. Village points are reached through their town.
AREA_KINDS = ("county_depot", "town_store")
PEOPLE_FIELDS = ("affected_people", "displaced_people")
PEOPLE_FIELD = re.compile(r"people\.(\d+)\.(\w+)")
AS_PEOPLE, AS_TIME = Integer(), DateTime()


# --- the list -----------------------------------------------------------------------------------

@blueprint.get("/")
@login_required
def index():
    """Incidents, open ones first, newest first; ``?status=`` keeps open or closed ones."""
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    page = db.paginate(queries.incidents(status=status), page=page_number(), per_page=50,
                       error_out=False)
    return render_template("dispatch/index.html", page=page, status=status)


# --- the form -----------------------------------------------------------------------------------

def area_sites() -> list:
    """Code and name of the active county depots and towns the user sees, in tree order."""
    return db.session.execute(restrict_to_scope(
        sa.select(Site.code, Site.name).where(Site.active.is_(True), Site.kind.in_(AREA_KINDS))
        .order_by(Site.path), current_user, Site.path)).all()


def _prepare(form: IncidentForm, sites: list) -> None:
    offered = choices((site.code, site.name) for site in sites)
    form.areas.choices = offered
    form.cut_off_sites.choices = list(offered)


def _people_typed(sites: list, incident: Incident | None) -> dict[str, dict[str, str]]:
    """Each offered site's people as the form shows them: as posted, else as the incident has them."""
    known = {entry.site.code: entry for entry in incident.sites} if incident else {}
    typed = {}
    for site in sites:
        entry = known.get(site.code)
        typed[site.code] = {
            name: request.form.get(f"{name}-{site.code}", "") if request.method == "POST"
            else (str(getattr(entry, name)) if entry is not None and getattr(entry, name) else "")
            for name in PEOPLE_FIELDS}
    return typed


def _fields(form: IncidentForm, sites: list) -> dict:
    """The incident as the services take it; raise ValidationError naming what does not read."""
    errors = {}
    try:
        started_at = AS_TIME.from_text(form.started_at.data)
    except Invalid as problem:
        started_at, errors["started_at"] = None, str(problem)
    areas = list(form.areas.data or [])
    names = {site.code: site.name for site in sites}
    people = []
    for code in areas:
        entry = {"site": code}
        for name in PEOPLE_FIELDS:
            try:
                entry[name] = AS_PEOPLE.from_text(request.form.get(f"{name}-{code}")) or 0
            except Invalid as problem:
                errors["people"] = _("%(site)s 的人数：%(problem)s", site=names.get(code, code),
                                     problem=problem)
        people.append(entry)
    if errors:
        raise ValidationError(errors)
    return {"name": (form.name.data or "").strip(), "type": form.type.data,
            "level": form.level.data, "started_at": started_at, "areas": areas, "people": people,
            "cut_off_sites": list(form.cut_off_sites.data or []),
            "note": (form.note.data or "").strip()}


def _level(fields: dict) -> dict:
    """The level as a number when it reads as one (the service refuses what is out of 1–4)."""
    try:
        fields["level"] = AS_PEOPLE.from_text(fields["level"])
    except Invalid as problem:
        raise ValidationError({"level": str(problem)}) from None
    return fields


def _show(sites: list, fields: dict | None = None):
    """Put a service's errors on the incident form; an area's people error names its site."""
    names = {site.code: site.name for site in sites}

    def show(form, error):
        if isinstance(error, ValidationError):
            details = {}
            for key, problem in error.details.items():
                if (match := PEOPLE_FIELD.fullmatch(key)) and fields and int(match[1]) < len(fields["people"]):
                    code = fields["people"][int(match[1])]["site"]
                    details["people"] = _("%(site)s 的人数：%(problem)s", site=names.get(code, code),
                                          problem=problem)
                else:
                    details[key] = problem
            error = ValidationError(details)
        show_errors(form, error)

    return show


def _form_page(form: IncidentForm, work, *, incident: Incident | None, done: str, sites: list, fields: dict):
    return submit(form, work, done=done, template="dispatch/incident_form.html", once=True,
                  show=_show(sites, fields), incident=incident, sites=sites,
                  people=_people_typed(sites, incident))


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """立案: name, type, level, when, the affected areas with their people, the cut-off sites."""
    authorize(current_user, "dispatch.manage")
    form = IncidentForm()
    sites = area_sites()
    _prepare(form, sites)
    fields: dict = {}

    def work():
        fields.update(_level(_fields(form, sites)))
        incident = services.open_incident(actor=current_user, data=fields)
        return url_for("dispatch.screen", incident_id=incident.id)

    return _form_page(form, work, incident=None, done=_("已立案"), sites=sites, fields=fields)


@blueprint.route("/<int(max=2147483647):incident_id>/edit", methods=["GET", "POST"])
@login_required
def edit(incident_id):
    """修改 an open incident; saved over someone else's newer edit, it is refused and says so."""
    incident = incident_or_404(incident_id)
    authorize(current_user, "dispatch.manage")
    form = IncidentForm(obj=None if request.method == "POST" else incident)
    sites = area_sites()
    # An area outside the offered list (a village named through the API) stays offered.
    offered = {site.code for site in sites}
    sites += [entry.site for entry in incident.sites if entry.site.code not in offered]
    _prepare(form, sites)
    if request.method == "GET":
        form.type.data, form.level.data = incident.type, str(incident.level)
        form.started_at.data = incident.started_at.astimezone(
            clock.timezone()).strftime("%Y-%m-%dT%H:%M")
        form.areas.data = [entry.site.code for entry in incident.sites if entry.affected]
        form.cut_off_sites.data = [entry.site.code for entry in incident.sites if entry.cut_off]
        form.version.data = str(incident.version)
    fields: dict = {}

    def work():
        fields.update(_level(_fields(form, sites)))
        version = (form.version.data or "").strip()
        number = whole_number(version)
        changes = {**fields, "version": number if number is not None else version or None}
        services.update_incident(actor=current_user, incident_id=incident.id, changes=changes)
        return url_for("dispatch.screen", incident_id=incident.id)

    return _form_page(form, work, incident=incident, done=_("已保存"), sites=sites, fields=fields)


@blueprint.post("/<int(max=2147483647):incident_id>/close")
@login_required
def close(incident_id):
    """结束: no more requests; what is on the road is still received."""
    incident = incident_or_404(incident_id)
    authorize(current_user, "dispatch.manage")
    page = url_for("dispatch.screen", incident_id=incident.id)

    def work():
        services.close_incident(actor=current_user, incident_id=incident.id)
        return page

    return press(DispatchActionForm(), work, done=_("灾情事件已结束"), back=page, once=True,
                 refused=FORM_ERRORS)
