"""Relief kits (救灾物资包) and the needs calculator that turns displaced people into request lines.

A kit says how much of each material one displaced person, or one household, needs; the bureau
edits kits as master data (audited like norms). ``needs`` multiplies a site's displaced people
by the kits chosen, rounding every line up: a need is whole tents and whole boxes of water.
"""

import math

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from inventory.audit.services import record_created, record_deleted, record_updated
from inventory.auth.access import authorize
from inventory.catalog.models import Material
from inventory.catalog.queries import materials_of_lines
from inventory.db import db, transactional
from inventory.dispatch.models import IncidentSite, Kit, KitLine
from inventory.dispatch.schemas import KIT, NEEDS
from inventory.dispatch.services import requesting_site
from inventory.errors import Duplicate, NotFound, ValidationError
from inventory.sites.models import Site
from inventory.validation import listing, load

# Products of a kit's decimal quantity and a head count are rounded to this many places before
# rounding up, so that 0.1 × 30 is 3 and not the 4 that 3.0000000000000004 would give.
PLACES = 6


# --- kits --------------------------------------------------------------------------------------

def get_kit(kit_id: int) -> Kit:
    """The kit of this id; raise NotFound."""
    kit = db.session.get(Kit, kit_id)
    if kit is None:
        raise NotFound(_("物资包 %(id)s 不存在", id=kit_id))
    return kit


def kit_snapshot(kit: Kit) -> dict:
    """The kit as the API and the audit log see it."""
    return {"id": kit.id, "name": kit.name, "basis": kit.basis, "note": kit.note, "active": kit.active,
            "lines": [{"material": line.material.code, "quantity": float(line.quantity)}
                      for line in kit.lines]}


def _kit_lines(lines: list[dict]) -> list[KitLine]:
    """Kit lines of validated ``lines``; an unknown or repeated material is its line's error."""
    materials, errors = materials_of_lines(lines)
    if errors:
        raise ValidationError(errors)
    return [KitLine(material=materials[line["material"]], quantity=line["quantity"]) for line in lines]


def _refuse_taken_name(name: str, kit_id: int | None = None) -> None:
    taken = sa.select(Kit.id).where(Kit.name == name)
    if kit_id is not None:
        taken = taken.where(Kit.id != kit_id)
    if db.session.scalar(taken) is not None:
        raise Duplicate(_("物资包“%(name)s”已存在", name=name))


def _flush_named(name: str) -> None:
    """Flush; the name taken by someone else since the check above is still a Duplicate."""
    try:
        db.session.flush()
    except IntegrityError:
        raise Duplicate(_("物资包“%(name)s”已存在", name=name)) from None


def _apply(kit: Kit, fields: dict) -> None:
    kit.name, kit.basis = fields["name"], fields["basis"]
    kit.note = fields.get("note") or ""
    kit.active = fields.get("active", True)
    kit.lines = _kit_lines(fields["lines"])


@transactional
def create_kit(*, actor, data: dict) -> Kit:
    """Add a relief kit; raise ValidationError, Duplicate or Forbidden."""
    authorize(actor, "dispatch.kits")
    fields = load(KIT, data)
    _refuse_taken_name(fields["name"])
    kit = Kit()
    _apply(kit, fields)
    db.session.add(kit)
    _flush_named(kit.name)
    record_created(actor=actor, entity="kit", key=str(kit.id), snapshot=kit_snapshot(kit))
    return kit


@transactional
def update_kit(*, actor, kit_id: int, data: dict) -> Kit:
    """Replace a kit's fields and lines with ``data`` (the whole kit, as on its form)."""
    authorize(actor, "dispatch.kits")
    kit = get_kit(kit_id)
    fields = load(KIT, data)
    _refuse_taken_name(fields["name"], kit.id)
    before = kit_snapshot(kit)
    # The old lines go before the new ones come: a material kept would otherwise meet itself in
    # the unique (kit, material) constraint.
    kit.lines = []
    db.session.flush()
    _apply(kit, fields)
    _flush_named(kit.name)
    record_updated(actor=actor, entity="kit", key=str(kit.id), before=before, after=kit_snapshot(kit))
    return kit


@transactional
def delete_kit(*, actor, kit_id: int) -> None:
    """Remove a kit (nothing refers to kits: needs become request lines, which stand alone)."""
    authorize(actor, "dispatch.kits")
    kit = get_kit(kit_id)
    snapshot = kit_snapshot(kit)
    db.session.delete(kit)
    record_deleted(actor=actor, entity="kit", key=str(kit_id), snapshot=snapshot)


def kits(*, active_only: bool = False) -> list[Kit]:
    """Every kit by name (only the active ones, when asked)."""
    query = sa.select(Kit).order_by(Kit.name, Kit.id)
    if active_only:
        query = query.where(Kit.active.is_(True))
    return list(db.session.scalars(query))


# --- the needs calculator ----------------------------------------------------------------------

def _round_up(value: float) -> int:
    return math.ceil(round(value, PLACES))


def households_of(site: Site, people: int) -> int:
    """How many households ``people`` displaced people of ``site`` make, rounded up: by the
    site's own persons per household when its population and households are both known, else by
    DISPATCH_PERSONS_PER_HOUSEHOLD."""
    if site.population and site.households:
        # people × households / population rather than people / (population / households): one
        # division, so 2290 people in 1000 households give exactly what the figures say.
        return _round_up(people * site.households / site.population)
    return _round_up(people / current_app.config["DISPATCH_PERSONS_PER_HOUSEHOLD"])


def needs(*, site: Site, kits, displaced_people: int) -> list[tuple[Material, int]]:
    """What ``displaced_people`` people of ``site`` need by ``kits``: per line, ⌈people ×
    quantity⌉ (per person) or ⌈households × quantity⌉ (per household); lines of one material
    from several kits add up. Materials come in the order the kits first name them; nothing
    needed, nothing listed."""
    households = households_of(site, displaced_people)
    totals: dict[int, list] = {}
    for kit in kits:
        units = displaced_people if kit.basis == "person" else households
        for line in kit.lines:
            total = totals.setdefault(line.material_id, [line.material, 0])
            total[1] += _round_up(units * float(line.quantity))
    return [(material, quantity) for material, quantity in totals.values() if quantity > 0]


def displaced_in(incident, site: Site) -> int:
    """紧急转移安置人数 of ``site`` in ``incident`` (0 when the incident does not list it)."""
    return db.session.scalar(sa.select(IncidentSite.displaced_people).where(
        IncidentSite.incident_id == incident.id, IncidentSite.site_id == site.id)) or 0


def needs_for(*, actor, incident_id: int, data: dict) -> list[dict]:
    """The lines a request of ``data["to_site"]`` for the incident would carry by the kits
    chosen (schemas.NEEDS), as [{"material": code, "quantity": n}]; changes nothing.

    Raise NotFound (incident), ValidationError (site, kits), InvalidState (a closed incident),
    Forbidden (not the actor's site to ask for)."""
    fields = load(NEEDS, data)
    incident, site = requesting_site(actor, incident_id, fields["to_site"])
    found = {kit.id: kit for kit in db.session.scalars(sa.select(Kit).where(Kit.id.in_(fields["kits"])))}
    if unknown := [kit_id for kit_id in fields["kits"] if kit_id not in found]:
        raise ValidationError({"kits": _("物资包不存在：%(ids)s", ids=listing(unknown))})
    if inactive := [found[kit_id].name for kit_id in fields["kits"] if not found[kit_id].active]:
        raise ValidationError({"kits": _("物资包已停用：%(names)s", names=listing(inactive))})
    people = fields.get("displaced_people")
    if people is None:
        people = displaced_in(incident, site)
    return [{"material": material.code, "quantity": quantity}
            for material, quantity in needs(site=site, kits=[found[kit_id] for kit_id in fields["kits"]],
                                            displaced_people=people)]
