"""Where a request's goods can come from: the read side that plans (planning.py) and approvals
(approval.py) share. One statement finds the sources of the request with the norm floors of
their sites — all of them, those of some sites, or those inside a latitude/longitude box around
the requesting site; two small ones add which norms count which materials and the road times to
the requesting site. Distances and ordering are worked out in Python (SQLite has no
trigonometry).

A plan takes from the nearest sources only, so ``nearest_first`` reads a small box first and
widens it until what was read provably settles the answer (see there): a province has
thousands of sources and a plan uses a few hundred.
"""

import functools
import math
from typing import NamedTuple

import sqlalchemy as sa

from inventory import clock
from inventory.db import db, execute
from inventory.dispatch.models import IncidentSite, RoadTime
from inventory.norms.models import norm_materials
from inventory.norms.queries import norm_sites
from inventory.sites.models import Agreement, Site
from inventory.stock.allocation import usable_items
from inventory.stock.models import StockItem

BUREAU = "bureau"
EARTH_RADIUS_KM = 6371.0
# The radii nearest_first reads in turn, each three times the last; past the last, everything.
SEARCH_RADII_KM = (30.0, 90.0, 270.0, 810.0, 2430.0)
# Added to a box's radius: a distance is rounded to 0.1 km, so a source at "r" may lie just past r.
BOX_MARGIN_KM = 1.0


class Source(NamedTuple):
    """One site's usable stock of one material and owner, as a plan may take it.

    ``limit`` is what a plan may take from this source alone: its stock, capped by the spare of
    every norm of the site that counts the material. ``floors`` names those norms with their
    spare; several sources share a norm's spare (棉被 and 毛毯 under one norm, or two owners),
    so a plan keeps count across them with ``Allowance``.
    """

    site_id: int
    code: str
    name: str
    material_id: int
    owner: str
    stock: int
    limit: int
    distance_km: float | None
    minutes: int | None
    floors: tuple[tuple[int, int], ...] = ()

    @property
    def key(self) -> tuple[int, int, str]:
        return self.site_id, self.material_id, self.owner


class Allowance:
    """What may still be taken from each source while a plan (or an edited one) takes from them:
    each source's own stock, and each (site, norm)'s spare shared by all it counts. Kept as what
    was taken, so only the sources a plan touches cost anything (a province has thousands)."""

    def __init__(self):
        self.taken: dict[tuple, int] = {}
        self.taken_from_norm: dict[tuple[int, int], int] = {}

    def left(self, source: Source | None) -> int:
        if source is None:
            return 0
        site_id, taken_from_norm = source.site_id, self.taken_from_norm
        return max(0, min([source.stock - self.taken.get(source.key, 0),
                           *(spare - taken_from_norm.get((site_id, norm_id), 0)
                             for norm_id, spare in source.floors)]))

    def take(self, source: Source, quantity: int) -> None:
        self.taken[source.key] = self.taken.get(source.key, 0) + quantity
        for norm_id, _spare in source.floors:
            pair = (source.site_id, norm_id)
            self.taken_from_norm[pair] = self.taken_from_norm.get(pair, 0) + quantity


def distances_from(latitude, longitude):
    """A function of (latitude, longitude) answering the haversine distance in km, to 0.1 km,
    from this origin (None when either end lacks coordinates): the origin's trigonometry is
    worked out once for the thousands of sources of a province."""
    if latitude is None or longitude is None:
        return lambda _latitude, _longitude: None
    lat1, lon1 = math.radians(latitude), math.radians(longitude)
    cos1, radians, sin, cos, asin, sqrt = math.cos(lat1), math.radians, math.sin, math.cos, math.asin, math.sqrt

    def distance(lat2, lon2):
        if lat2 is None or lon2 is None:
            return None
        lat2, lon2 = radians(lat2), radians(lon2)
        a = sin((lat2 - lat1) / 2) ** 2 + cos1 * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
        return round(2 * EARTH_RADIUS_KM * asin(sqrt(min(1.0, a))), 1)

    return distance


def box_around(latitude: float, longitude: float, radius_km: float) -> dict | None:
    """The bounds (south, north, west, east) of a latitude/longitude box holding every site
    within ``radius_km`` (haversine, as distances_from measures) of the origin, and a few more:
    the box around that circle, its longitude half-width asin(sin d / cos φ) — the circle's
    widest point, nearer the pole than the origin. None when the box would reach a pole or cross
    the ±180° meridian (then read everything)."""
    reach = (radius_km + BOX_MARGIN_KM) / EARTH_RADIUS_KM
    lat = math.radians(latitude)
    if abs(lat) + reach >= math.pi / 2:
        return None
    half_width = math.degrees(math.asin(math.sin(reach) / math.cos(lat)))
    west, east = longitude - half_width, longitude + half_width
    if west < -180 or east > 180:
        return None
    return {"south": latitude - math.degrees(reach), "north": latitude + math.degrees(reach),
            "west": west, "east": east}


def cut_off_sites(incident_id: int):
    """The sites this incident has cut off (断路): never a source."""
    return sa.select(IncidentSite.site_id).where(IncidentSite.incident_id == incident_id,
                                                 IncidentSite.cut_off.is_(True))


def approved_owners(request) -> list[str]:
    """Whose goods the request may use: the bureau's, and those whose owner agreed."""
    return [BUREAU, *(approval.owner for approval in request.owner_approvals)]


def norm_requirements(site_ids, material_ids) -> tuple[dict, dict]:
    """For these sites, every norm that applies there and counts one of these materials:
    ({(site_id, norm_id): required}, {norm_id: every material id the norm counts}).

    The requirement is the norms module's own (norms/queries.py): per-person rate × planning
    population, at least the minimum, for the site's kind and hazards.
    """
    if not site_ids or not material_ids:
        return {}, {}
    materials = norms_counting(material_ids)
    if not materials:
        return {}, {}
    pairs = norm_sites()
    required = {(site_id, norm_id): int(quantity) for site_id, norm_id, quantity in db.session.execute(
        sa.select(pairs.c.site_id, pairs.c.norm_id, pairs.c.required)
        .where(pairs.c.site_id.in_(list(site_ids)), pairs.c.norm_id.in_(list(materials))))}
    return required, materials


def norms_counting(material_ids) -> dict[int, set[int]]:
    """{norm: every material it counts}, for the norms that count any of these materials."""
    counting: dict[int, set[int]] = {}
    for norm_id, material_id in execute(
            sa.select(norm_materials.c.norm_id, norm_materials.c.material_id)
            .where(norm_materials.c.norm_id.in_(
                sa.select(norm_materials.c.norm_id).where(norm_materials.c.material_id.in_(list(material_ids)))))):
        counting.setdefault(norm_id, set()).add(material_id)
    return counting


# What a read is restricted to: every site, some sites (:site_ids), the box (:south … :east), or
# the box and the sites with known road times to the requesting site.
EVERY_SITE, SOME_SITES, IN_BOX, TIMED_OR_IN_BOX = "every", "some", "box", "timed or box"


@functools.cache
def _sources_statement(*, with_floors: bool, scope: str):
    """One statement for the whole request: a row per source (site, material, owner) with its
    stock and site, and — unless the floors are waived — a row per (source site, norm) that
    caps one of them, with its spare. Only candidate sites' norms are worked out; the floors of
    a restricted read's sites are as in the full read (a floor is per site).

    Built once per shape, its values bound at each read (:materials, :owners, :to_site,
    :incident, :today and the scope's): a new statement cost more to build and key for the
    compiled cache than PostgreSQL takes to run it (PB12)."""
    today, to_site = sa.bindparam("today", type_=sa.Date), sa.bindparam("to_site", type_=sa.Integer)
    in_scope = {
        EVERY_SITE: (),
        SOME_SITES: (StockItem.site_id.in_(sa.bindparam("site_ids", expanding=True)),),
        IN_BOX: (StockItem.site_id.in_(sa.select(Site.id).where(_in_box())),),
        TIMED_OR_IN_BOX: (StockItem.site_id.in_(
            sa.select(Site.id).where(sa.or_(Site.id.in_(_timed_sites(to_site)), _in_box()))),),
    }[scope]
    agreement_valid = sa.exists().where(Agreement.site_id == Site.id, Agreement.valid_from <= today,
                                        Agreement.valid_to >= today)
    stock = (sa.select(StockItem.site_id, StockItem.material_id, StockItem.owner,
                       sa.func.sum(StockItem.quantity).label("quantity"))
             .where(StockItem.material_id.in_(sa.bindparam("materials", expanding=True)),
                    *usable_items(today), StockItem.owner.in_(sa.bindparam("owners", expanding=True)),
                    StockItem.site_id != to_site, *in_scope)
             .group_by(StockItem.site_id, StockItem.material_id, StockItem.owner).cte("stock"))
    sources = (sa.select(stock.c.site_id, stock.c.material_id, stock.c.owner, stock.c.quantity,
                         Site.code, Site.name, Site.latitude, Site.longitude)
               .join(Site, Site.id == stock.c.site_id)
               .where(Site.active.is_(True),
                      Site.id.not_in(cut_off_sites(sa.bindparam("incident", type_=sa.Integer))),
                      sa.or_(Site.kind != "agreement_site", agreement_valid)).cte("sources"))
    rows = sa.select(sources.c.site_id, sources.c.material_id, sources.c.owner, sources.c.quantity,
                     sources.c.code, sources.c.name, sources.c.latitude, sources.c.longitude,
                     sa.null().label("norm_id"))
    if not with_floors:
        return rows
    pairs, counted, held = norm_sites(), norm_materials.alias("counted"), norm_materials.alias("held")
    floors = (sa.select(sources.c.site_id, pairs.c.norm_id, pairs.c.required)
              .join(counted, counted.c.material_id == sources.c.material_id)
              .join(pairs, sa.and_(pairs.c.site_id == sources.c.site_id, pairs.c.norm_id == counted.c.norm_id))
              .group_by(sources.c.site_id, pairs.c.norm_id, pairs.c.required).subquery("floors"))
    # A lookup per floor on ix_stock_items_site_material: a grouped join was faster on analysed
    # PostgreSQL tables (2.8 s against 3.5 s at PB12 scale on a loaded box) but slower on SQLite,
    # and took minutes on a freshly loaded database whose statistics said every table was empty.
    usable = (sa.select(sa.func.coalesce(sa.func.sum(StockItem.quantity), 0))
              .join(held, held.c.material_id == StockItem.material_id)
              .where(held.c.norm_id == floors.c.norm_id, StockItem.site_id == floors.c.site_id,
                     *usable_items(today)).scalar_subquery())
    return sa.union_all(rows, sa.select(floors.c.site_id, sa.null(), sa.null(), usable - floors.c.required,
                                        sa.null(), sa.null(), sa.null(), sa.null(), floors.c.norm_id))


def _in_box():
    """A condition on Site: inside the box that the parameters :south, :north, :west, :east bound."""
    def bound(name):
        return sa.bindparam(name, type_=sa.Float)

    return sa.and_(Site.latitude.between(bound("south"), bound("north")),
                   Site.longitude.between(bound("west"), bound("east")))


def _road_times(site_id: int) -> dict[int, tuple[int | None, bool]] | None:
    """{other site: (minutes, cut)} for the pairs touching ``site_id``; None when no road-time
    table is loaded at all (then distance alone orders sources)."""
    if db.session.scalar(sa.select(RoadTime.from_site_id).limit(1)) is None:
        return None
    return {other if other != site_id else first: (minutes, cut)
            for first, other, minutes, cut in db.session.execute(
                sa.select(RoadTime.from_site_id, RoadTime.to_site_id, RoadTime.minutes, RoadTime.cut)
                .where(sa.or_(RoadTime.from_site_id == site_id, RoadTime.to_site_id == site_id)))}


def _timed_sites(site_id):
    """The sites whose road time to ``site_id`` (a value or a bound parameter) is known and not
    cut: they come first."""
    return sa.union(
        sa.select(RoadTime.to_site_id).where(RoadTime.from_site_id == site_id, RoadTime.minutes.is_not(None),
                                             RoadTime.cut.is_(False)),
        sa.select(RoadTime.from_site_id).where(RoadTime.to_site_id == site_id, RoadTime.minutes.is_not(None),
                                               RoadTime.cut.is_(False)))


def nearest_first(request, *, allow_below_norm: bool, settle):
    """What ``settle(sources, certain)`` answers for the candidate sources of ``request``, read
    nearest first: the sources inside a box of radius r around the requesting site (and, with a
    road-time table, every source with known minutes), widening r ×3 while ``settle`` answers
    None, and at last every source (those without coordinates too).

    ``sources`` are in candidate_sources' order; ``certain(source)`` says whether the source is
    where it is in the full order, with the same sources before it: true for those with known
    minutes (all were read) and for those within distance ≤ r (the box holds the whole circle,
    and every source not read is farther than r, so it sorts after them). ``settle`` answers
    None unless its answer depends only on certain sources; on the full read every source is
    certain — ``certain`` is None — and it must answer.
    """
    roads = _road_times(request.to_site_id)
    latitude, longitude = request.to_site.latitude, request.to_site.longitude
    counting = {}  # norms_counting, once for every read
    if latitude is not None and longitude is not None:
        for radius in SEARCH_RADII_KM:
            bounds = box_around(latitude, longitude, radius)
            if bounds is None:
                break
            sources = _read(request, allow_below_norm=allow_below_norm, roads=roads, counting=counting,
                            scope=TIMED_OR_IN_BOX if roads else IN_BOX, values=bounds)

            def certain(source: Source, radius=radius) -> bool:
                return source.minutes is not None or (source.distance_km is not None
                                                      and source.distance_km <= radius)

            answer = settle(sources, certain)
            if answer is not None:
                return answer
    return settle(_read(request, allow_below_norm=allow_below_norm, roads=roads, counting=counting), None)


def nearest_per_material(request, *, allow_below_norm: bool, count: int = 50) -> list[Source]:
    """The first ``count`` candidate sources of each of the request's materials, in
    candidate_sources' order: what a page offers to add to a plan, bounded at province scale."""
    def settle(sources, certain):
        chosen, taken = [], {}
        for source in sources:
            if taken.get(source.material_id, 0) < count and (certain is None or certain(source)):
                chosen.append(source)
                taken[source.material_id] = taken.get(source.material_id, 0) + 1
        if certain is None or all(taken.get(line.material_id, 0) >= count for line in request.lines):
            return chosen
        return None

    return nearest_first(request, allow_below_norm=allow_below_norm, settle=settle)


def candidate_sources(request, *, allow_below_norm: bool, site_ids=None) -> list[Source]:
    """Every source a plan for ``request`` may take from, in the order it takes them; only those
    of ``site_ids`` when given (an approval checks the sources it was given, not a province).

    Exact semantics (bench PB12's hand-written baseline matches them):

    - stock: StockItem rows of the request's materials with status "available", quantity > 0,
      expiry_date NULL or ≥ clock.today(), owner "bureau" or an owner in
      request.owner_approvals; summed per (site, material, owner);
    - sites: active, not the requesting site, not cut off in the request's incident
      (incident_sites.cut_off); an agreement_site only while its agreement is valid today
      (valid_from ≤ today ≤ valid_to);
    - norm floor, unless ``allow_below_norm``: for every norm applying to the site (site_kind =
      the site's kind; hazard NULL or one of the site's hazard tags) that counts the material,
      spare = usable − required, where usable is the site's available, unexpired stock of any
      of the norm's materials, every owner, and required = max(min_quantity,
      ceil(round(per_person × planning_population, 6))); limit = min(stock, every such spare),
      at least 0; sources whose limit is 0 are left out;
    - reach: distance_km = haversine from the requesting site's coordinates (R = 6371.0 km),
      rounded to 0.1 km, None if either site lacks them. When road_times holds any row, a pair
      (requesting site, source) marked cut leaves the source out; sources with known minutes come
      first by minutes, then the rest by distance. Without the table, by distance; a source
      without a distance after those with one;
    - order: that reach, then site code, then the request's line order of the material, then
      owner (the bureau's own goods first, then other owners by name).
    """
    roads = _road_times(request.to_site_id)
    if site_ids is None:
        return _read(request, allow_below_norm=allow_below_norm, roads=roads, counting={})
    if not site_ids:
        return []
    return _read(request, allow_below_norm=allow_below_norm, roads=roads, counting={},
                 scope=SOME_SITES, values={"site_ids": list(site_ids)})


def _read(request, *, allow_below_norm: bool, roads, counting: dict, scope=EVERY_SITE,
          values=None) -> list[Source]:
    """candidate_sources of the sites in ``scope`` (_sources_statement's, bound to ``values``),
    ``roads`` as _road_times answers them. ``counting`` keeps norms_counting
    across the reads of one plan: filled by the first that needs it."""
    lines = {line.material_id: index for index, line in enumerate(request.lines)}
    if not lines:
        return []
    rows, floor_rows = [], []
    statement = _sources_statement(with_floors=not allow_below_norm, scope=scope)
    for row in execute(statement, {"materials": list(lines), "owners": approved_owners(request),
                                   "to_site": request.to_site_id, "incident": request.incident_id,
                                   "today": clock.today(), **(values or {})}):
        (rows if row.norm_id is None else floor_rows).append(row)
    # Each floor caps the sources of the materials its norm counts at that site.
    if floor_rows and not counting:
        counting.update(norms_counting(lines))
    floors_of: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for row in floor_rows:
        for material_id in counting[row.norm_id]:
            floors_of.setdefault((row.site_id, material_id), []).append((row.norm_id, int(row.quantity)))
    distance_from = distances_from(request.to_site.latitude, request.to_site.longitude)
    sources = []
    for site_id, material_id, owner, quantity, code, name, latitude, longitude, _norm in rows:
        minutes, cut = roads.get(site_id, (None, False)) if roads is not None else (None, False)
        if cut:
            continue
        floors = tuple(floors_of.get((site_id, material_id), ()))
        limit = max(0, min(int(quantity), *(spare for _norm_id, spare in floors))) if floors else int(quantity)
        if limit == 0:
            continue
        sources.append(Source(site_id, code, name, material_id, owner, int(quantity), limit,
                              distance_from(latitude, longitude), minutes, floors))

    def order(source: Source):
        by_distance = (source.distance_km is None, source.distance_km or 0.0)
        by_road = (source.minutes is None, source.minutes or 0, *by_distance)
        return (*(by_road if roads is not None else by_distance), source.code,
                lines[source.material_id], source.owner != BUREAU, source.owner)

    return sorted(sources, key=order)
