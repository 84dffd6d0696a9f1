"""The rules for sites: the tree, planning population, agreements, deactivation."""

import math

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from inventory import clock
from inventory.audit.services import record_created, record_deleted, record_updated
from inventory.auth.access import authorize, can
from inventory.catalog.models import Material
from inventory.db import db, transactional
from inventory.errors import Duplicate, InvalidState, NotFound, ValidationError
from inventory.sites.models import (
    AGREEMENT_STORAGE,
    FIELD_NAMES,
    HAZARDS,
    KIND_NAMES,
    KINDS,
    Agreement,
    AgreementLine,
    Site,
    SiteHazard,
)
from inventory.validation import (
    Array,
    Boolean,
    Date,
    Integer,
    Number,
    Object,
    String,
    listing,
    load,
)

CODE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"
MAX_POPULATION = 100_000_000

# Which kind of site may hang under which: county → town → village; agreement sites serve any.
ALLOWED_PARENT_KINDS = {
    "county_depot": (None,),
    "town_store": ("county_depot",),
    "village_point": ("town_store",),
    "agreement_site": ("county_depot", "town_store", "village_point"),
}

# Planning population when none is stated (reference/norms-default.md §9.1):
# (floor, share of population) per kind, the share higher where roads, power and networks may be cut.
COUNTY_DEPOT_PLANNING_POPULATION = 5_000
PLANNING_RULES = {
    ("town_store", True): (200, 0.03),
    ("town_store", False): (100, 0.01),
    ("village_point", True): (30, 0.05),
    ("village_point", False): (30, 0.05),
}

AGREEMENT_LINE = Object({
    "material": String(max_length=32, required=True),
    "quantity": Integer(minimum=1, maximum=100_000_000, required=True),
})

AGREEMENT = Object({
    "partner": String(max_length=100, required=True, description="协议单位"),
    "number": String(max_length=50, required=True, description="协议编号"),
    "storage": String(max_length=20, choices=AGREEMENT_STORAGE,
                      description="bureau_goods: 代储局方物资; partner_goods: 企业自有物资按约保有"),
    "valid_from": Date(required=True),
    "valid_to": Date(required=True),
    "last_verified": Date(nullable=True, description="最近一次核查盘点日期"),
    "contact_name": String(max_length=50, min_length=0),
    "contact_phone": String(max_length=30, min_length=0),
    "lines": Array(AGREEMENT_LINE, max_items=200, description="约定物资及数量"),
}, nullable=True)

SITE = Object({
    "code": String(max_length=32, pattern=CODE_PATTERN, required=True,
                   description="稳定的站点编码，如 GT-XB"),
    "name": String(max_length=100, required=True),
    "kind": String(max_length=20, choices=KINDS, required=True),
    "parent": String(max_length=32, nullable=True, description="上级站点编码"),
    "population": Integer(minimum=0, maximum=MAX_POPULATION, nullable=True),
    "households": Integer(minimum=0, maximum=MAX_POPULATION, nullable=True),
    "planning_population": Integer(minimum=0, maximum=MAX_POPULATION, nullable=True,
                                   description="保障人口；为空时按站点类型推算"),
    "latitude": Number(minimum=-90, maximum=90, nullable=True),
    "longitude": Number(minimum=-180, maximum=180, nullable=True),
    "hazards": Array(String(max_length=20, choices=HAZARDS), max_items=len(HAZARDS), unique=True),
    "address": String(max_length=200, min_length=0),
    "keeper_name": String(max_length=50, min_length=0),
    "keeper_phone": String(max_length=30, min_length=0),
    "active": Boolean(),
    "agreement": AGREEMENT,
})

AUDITED_FIELDS = ("name", "kind", "parent", "population", "households", "planning_population",
                  "latitude", "longitude", "hazards", "address", "keeper_name", "keeper_phone",
                  "active", "agreement")

# What a keeper may change at their own sites: how to find the site and reach its people.
# The rest decides the norms, where dispatch looks and whose stock counts: sites.manage.
CONTACT_FIELDS = frozenset({"address", "keeper_name", "keeper_phone",
                            "agreement.contact_name", "agreement.contact_phone"})
EVERY_FIELD = frozenset(FIELD_NAMES) - {"code"}


def derived_planning_population(kind: str, hazards, population: int | None,
                                parent: Site | None) -> int:
    """The people a site must be able to shelter when the bureau has stated no figure."""
    if kind == "county_depot":
        return COUNTY_DEPOT_PLANNING_POPULATION
    if kind == "agreement_site":
        return parent.planning_population if parent is not None else 0
    floor, share = PLANNING_RULES[(kind, "three_outages" in hazards)]
    return max(floor, math.ceil(share * (population or 0)))


def get_site(code: str) -> Site:
    """The site with this code; raise NotFound."""
    site = db.session.scalar(sa.select(Site).where(Site.code == code))
    if site is None:
        raise NotFound(_("站点 %(code)s 不存在", code=code))
    return site


def _parent_for(code: str | None) -> Site | None:
    if code is None:
        return None
    parent = db.session.scalar(sa.select(Site).where(Site.code == code))
    if parent is None:
        raise ValidationError({"parent": _("上级站点 %(code)s 不存在", code=code)})
    return parent


def _check_parent(kind: str, parent: Site | None) -> None:
    allowed = ALLOWED_PARENT_KINDS[kind]
    if (parent.kind if parent else None) in allowed:
        return
    if allowed == (None,):
        raise ValidationError({"parent": _("县级储备库不能有上级站点")})
    names = listing(str(KIND_NAMES[k]) for k in allowed)
    raise ValidationError({"parent": _("%(kind)s的上级应为：%(names)s",
                                       kind=KIND_NAMES[kind], names=names)})


def _check_figures(fields: dict) -> None:
    population, households = fields.get("population"), fields.get("households")
    if population is not None and households is not None and households > population:
        raise ValidationError({"households": _("户数不能大于人口")})
    if (fields.get("latitude") is None) != (fields.get("longitude") is None):
        raise ValidationError({"longitude": _("经度和纬度须同时填写或同时留空")})


def _agreement_lines(agreement: Agreement, lines) -> list[AgreementLine]:
    """The agreed lines, kept in place by material: a material agreed before keeps its row.

    Replacing them all would insert the new rows before the old ones are deleted, against the
    one-line-per-material index: no agreement site with lines could be edited at all.
    """
    codes = [line["material"] for line in lines]
    if len(set(codes)) != len(codes):
        raise ValidationError({"agreement.lines": _("同一物资只能出现一次")})
    materials = {m.code: m for m in db.session.scalars(
        sa.select(Material).where(Material.code.in_(codes)))}
    missing = [code for code in codes if code not in materials]
    if missing:
        raise ValidationError({"agreement.lines": _("物资不存在：%(codes)s", codes=listing(missing))})
    agreed = {line.material.code: line for line in agreement.lines}
    kept = []
    for line in lines:
        if (agreed_line := agreed.get(line["material"])) is not None:
            agreed_line.quantity = line["quantity"]
            kept.append(agreed_line)
        else:
            kept.append(AgreementLine(material=materials[line["material"]],
                                      quantity=line["quantity"]))
    return kept


def _apply_agreement(site: Site, kind: str, data) -> None:
    if kind != "agreement_site":
        if data is not None:
            raise ValidationError({"agreement": _("只有协议代储点才有协议")})
        site.agreement = None
        return
    if data is None:
        raise ValidationError({"agreement": _("协议代储点须填写协议信息")})
    if data["valid_to"] < data["valid_from"]:
        raise ValidationError({"agreement.valid_to": _("到期日不能早于生效日")})
    if data.get("last_verified") and data["last_verified"] > clock.today():
        raise ValidationError({"agreement.last_verified": _("核查日期不能晚于今天")})
    agreement = site.agreement or Agreement()
    for name in ("partner", "number", "valid_from", "valid_to"):
        setattr(agreement, name, data[name])
    agreement.storage = data.get("storage", agreement.storage or "bureau_goods")
    agreement.last_verified = data.get("last_verified")
    agreement.contact_name = data.get("contact_name", "")
    agreement.contact_phone = data.get("contact_phone", "")
    agreement.lines = _agreement_lines(agreement, data.get("lines", []))
    site.agreement = agreement


def site_snapshot(site: Site) -> dict:
    """The site's fields as the API and the audit log see them."""
    agreement = site.agreement
    return {
        "code": site.code,
        "name": site.name,
        "kind": site.kind,
        "parent": site.parent.code if site.parent else None,
        "population": site.population,
        "households": site.households,
        "planning_population": site.planning_population,
        "stated_planning_population": site.stated_planning_population,
        "latitude": site.latitude,
        "longitude": site.longitude,
        "hazards": site.hazards,
        "address": site.address,
        "keeper_name": site.keeper_name,
        "keeper_phone": site.keeper_phone,
        "active": site.active,
        "agreement": None if agreement is None else {
            "partner": agreement.partner,
            "number": agreement.number,
            "storage": agreement.storage,
            "valid_from": agreement.valid_from.isoformat(),
            "valid_to": agreement.valid_to.isoformat(),
            "last_verified": agreement.last_verified.isoformat() if agreement.last_verified else None,
            "contact_name": agreement.contact_name,
            "contact_phone": agreement.contact_phone,
            "lines": [{"material": line.material.code, "quantity": line.quantity}
                      for line in agreement.lines],
        },
    }


def _audit_view(snapshot: dict) -> dict:
    return {field: snapshot[field] for field in AUDITED_FIELDS}


def editable_fields(actor, site: Site) -> frozenset[str]:
    """The fields (FIELD_NAMES' keys) ``actor`` may change at ``site``, which they may edit."""
    return EVERY_FIELD if can(actor, "sites.manage", site) else CONTACT_FIELDS


def _field_values(snapshot: dict) -> dict:
    """A snapshot as the fields one edits: the stated planning population (not the derived
    one), whether there is an agreement, and each agreement field on its own."""
    values = {name: snapshot[name] for name in AUDITED_FIELDS
              if name not in ("planning_population", "agreement")}
    values["planning_population"] = snapshot["stated_planning_population"]
    values["agreement"] = snapshot["agreement"] is not None
    for name, value in (snapshot["agreement"] or {}).items():
        values[f"agreement.{name}"] = value
    return values


def _authorize_changes(actor, site: Site, before: dict) -> None:
    """Refuse, naming them, the changed fields that are not the actor's to change.

    Asked of the values as changed, not of the fields sent: a client that sends a site back
    whole, as it read it, changes only what differs.
    """
    old, new = _field_values(before), _field_values(site_snapshot(site))
    changed = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
    if managed := [name for name in FIELD_NAMES if name in changed - editable_fields(actor, site)]:
        authorize(actor, "sites.manage", site, message=_(
            "%(fields)s须由管理员修改；保管员可修改地址和联系方式",
            fields=listing(str(FIELD_NAMES[name]) for name in managed)))


def _refresh_planning_population(site: Site) -> None:
    site.planning_population = (
        site.stated_planning_population
        if site.stated_planning_population is not None
        else derived_planning_population(site.kind, site.hazards, site.population, site.parent))
    # Agreement sites serve their parent's people, so their figure follows it.
    for child in db.session.scalars(sa.select(Site).where(
            Site.parent_id == site.id, Site.kind == "agreement_site",
            Site.stated_planning_population.is_(None))):
        child.planning_population = site.planning_population


def _apply(site: Site, fields: dict, parent: Site | None) -> None:
    for name in ("name", "kind", "population", "households", "latitude", "longitude"):
        if name in fields:
            setattr(site, name, fields[name])
    for name in ("address", "keeper_name", "keeper_phone"):
        if name in fields:
            setattr(site, name, fields[name] or "")
    if "planning_population" in fields:
        site.stated_planning_population = fields["planning_population"]
    if "active" in fields:
        site.active = fields["active"]
    if "hazards" in fields:
        site.hazard_tags = [SiteHazard(hazard=tag) for tag in sorted(fields["hazards"])]
    site.parent = parent


@transactional
def create_site(*, actor, data: dict) -> Site:
    """Create a site under ``parent`` (a code); raise ValidationError, Duplicate or Forbidden."""
    fields = load(SITE, data)
    parent = _parent_for(fields.get("parent"))
    # A new site brings its own norms and a place in the tree: the bureau's to add.
    authorize(actor, "sites.manage", parent)
    if db.session.scalar(sa.select(Site.id).where(Site.code == fields["code"])) is not None:
        raise Duplicate(_("站点编码 %(code)s 已存在", code=fields["code"]))
    _check_parent(fields["kind"], parent)
    _check_figures(fields)
    site = Site(code=fields["code"])
    _apply(site, fields, parent)
    _apply_agreement(site, fields["kind"], fields.get("agreement"))
    db.session.add(site)
    db.session.flush()
    site.path = f"{parent.path if parent else '/'}{site.id}/"
    _refresh_planning_population(site)
    record_created(actor=actor, entity="site", key=site.code,
                   snapshot=_audit_view(site_snapshot(site)))
    return site


@transactional
def update_site(*, actor, code: str, changes: dict) -> Site:
    """Change a site's fields (a partial update); moving it moves its subtree."""
    site = get_site(code)
    authorize(actor, "sites.edit", site)
    fields = load(SITE, changes, partial=True)
    if fields.pop("code", code) != code:
        raise ValidationError({"code": _("站点编码不可修改")})
    before = site_snapshot(site)
    parent = _parent_for(fields["parent"]) if "parent" in fields else site.parent
    if parent is not site.parent:
        authorize(actor, "sites.edit", parent)
    kind = fields.get("kind", site.kind)
    has_children = db.session.scalar(sa.select(sa.exists().where(Site.parent_id == site.id)))
    if kind != site.kind and has_children:
        raise InvalidState(_("该站点有下级站点，不能更改类型"))
    _check_parent(kind, parent)
    _check_figures({name: fields.get(name, before[name])
                    for name in ("population", "households", "latitude", "longitude")})
    old_path = site.path
    _apply(site, fields, parent)
    if "agreement" in fields:
        _apply_agreement(site, kind, fields["agreement"])
    elif kind != before["kind"]:
        # Leaving the agreement-site kind drops the agreement; entering it needs one.
        _apply_agreement(site, kind, None)
    _authorize_changes(actor, site, before)
    db.session.flush()
    new_path = f"{parent.path if parent else '/'}{site.id}/"
    if new_path != old_path:
        db.session.execute(
            sa.update(Site)
            .where(Site.path.startswith(old_path, autoescape=True))
            .values(path=sa.literal(new_path, sa.String)
                    + sa.func.substr(Site.path, len(old_path) + 1, type_=sa.String))
            .execution_options(synchronize_session="fetch"))
    _refresh_planning_population(site)
    record_updated(actor=actor, entity="site", key=site.code, before=_audit_view(before),
                   after=_audit_view(site_snapshot(site)))
    return site


@transactional
def delete_site(*, actor, code: str) -> None:
    """Delete a site that nothing refers to; one with history or sub-sites must be deactivated."""
    site = get_site(code)
    authorize(actor, "sites.manage", site)
    if db.session.scalar(sa.select(sa.exists().where(Site.parent_id == site.id))):
        raise InvalidState(_("该站点有下级站点，不能删除"))
    snapshot = _audit_view(site_snapshot(site))
    try:
        with db.session.begin_nested():
            db.session.delete(site)
            db.session.flush()
    except IntegrityError:
        # Stock, users or documents still refer to it: history must stay readable.
        raise InvalidState(_("该站点已有业务记录或关联用户，不能删除，请改为停用")) from None
    record_deleted(actor=actor, entity="site", key=code, snapshot=snapshot)
