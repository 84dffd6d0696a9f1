"""The plan (调度方案) that answers a request: which sources send how much, nearest first, never
emptying a source below its own norm; the owner approvals that let other levels' goods in; and
its approval into transfers (approval.py).

Each public action is one unit of work. A plan moves no stock: it is a proposal that approval
checks again, under locks, against the stock as it is then.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import clock
from inventory.audit.services import record_created
from inventory.auth.access import authorize
from inventory.catalog.models import Material
from inventory.db import db, execute, transactional
from inventory.dispatch.approval import allocation_data, approve, claim, is_the_plan, refuse_unless_pending
from inventory.dispatch.models import PENDING_REQUEST_STATUSES, Allocation, OwnerApproval, Request
from inventory.dispatch.schemas import OWNER_APPROVAL
from inventory.dispatch.services import get_request
from inventory.dispatch.sources import (
    BUREAU,
    Allowance,
    Source,
    candidate_sources,
    nearest_first,
    nearest_per_material,
)
from inventory.errors import Duplicate, NotFound, ValidationError
from inventory.feed.services import record
from inventory.sites.models import Site
from inventory.validation import load

__all__ = ["Source", "approve", "candidate_sources", "is_the_plan", "nearest_per_material", "nearest_plan",
           "Plan", "Planned", "plan", "record_owner_approval", "unmet"]


def unmet(request: "Request | Plan") -> list[tuple[Material, int]]:
    """What the plan leaves short: per line, requested − allocated, where that is above 0."""
    allocated: dict[int, int] = {}
    for allocation in request.allocations:
        material_id = allocation.material.id
        allocated[material_id] = allocated.get(material_id, 0) + allocation.quantity
    return [(line.material, line.quantity - allocated.get(line.material_id, 0)) for line in request.lines
            if line.quantity > allocated.get(line.material_id, 0)]


def greedy(request: Request, sources: list[Source]) -> list[Allocation]:
    """Per line, in line order: take from its material's sources in order, each time the lesser
    of what is still needed and what the source may still give."""
    return [Allocation(**row) for row in _greedy(request, sources)[0]]


def _greedy(request: Request, sources: list[Source]) -> tuple[list[dict], list[tuple[bool, Source | None]]]:
    """greedy's allocations as column values (a read that does not settle the plan is thrown
    away, so no objects for it), and per line whether it was met and the last source it took."""
    by_material: dict[int, list[Source]] = {}
    for source in sources:
        by_material.setdefault(source.material_id, []).append(source)
    allowance, allocations, ends = Allowance(), [], []
    for line in request.lines:
        needed, last = line.quantity, None
        for source in by_material.get(line.material_id, ()):
            if needed == 0:
                break
            taken = min(needed, allowance.left(source))
            if taken > 0:
                allowance.take(source, taken)
                needed -= taken
                last = source
                allocations.append({
                    "from_site_id": source.site_id, "material_id": source.material_id, "owner": source.owner,
                    "quantity": taken, "distance_km": source.distance_km, "minutes": source.minutes})
        ends.append((needed == 0, last))
    return allocations, ends


def nearest_plan(request: Request, *, allow_below_norm: bool) -> list[dict]:
    """greedy over candidate_sources (as column values), reading only the nearest sources it
    needs.

    A read of the nearest sources settles the plan when every line was met and the last source
    each line took is certain (nearest_first): a line looks at its sources in order and stops
    once met, so every source it looked at — those it took and those it passed over — is at most
    as far as the last it took, where the read holds every source there is. Lines share norm
    spares only through sources they looked at, so line by line the greedy over everything does
    the same. Otherwise a wider read decides, at last the full one.
    """
    def settle(sources, certain):
        allocations, ends = _greedy(request, sources)
        if certain is None or all(met and (last is None or certain(last)) for met, last in ends):
            return allocations
        return None

    return nearest_first(request, allow_below_norm=allow_below_norm, settle=settle)


@dataclass(frozen=True, slots=True)
class Planned:
    """One allocation as plan() wrote it, with its site and material: what the answer and the
    event say of it. Not a loaded Allocation: a province plan has hundreds, and reading them
    back, each with its site, cost more than the plan's reads (PB12)."""

    from_site: Site
    material: Material
    owner: str
    quantity: int
    distance_km: float | None
    minutes: int | None
    transfer = None  # not sent yet: approval makes the transfers


@dataclass(frozen=True)
class Plan:
    """A plan as plan() wrote it: the request (its new status and version) and the allocations
    written, in plan order. A later read of ``request.allocations`` loads the stored ones."""

    request: Request
    allocations: list[Planned]

    @property
    def id(self) -> int:
        return self.request.id

    @property
    def status(self) -> str:
        return self.request.status

    @property
    def version(self) -> int:
        return self.request.version

    @property
    def lines(self):
        return self.request.lines


def _replace_allocations(request: Request, rows: list[dict]) -> list[Planned]:
    """The request's allocations become ``rows``: one DELETE and one multi-row INSERT, not an
    object per allocation through the unit of work (30 ms of flush for a province plan on
    PostgreSQL). Answer them with their sites (one query) and materials (the lines')."""
    execute(sa.delete(Allocation).where(Allocation.request_id == request.id))
    if rows:
        execute(sa.insert(Allocation), [{"request_id": request.id, "transfer_id": None, **row} for row in rows])
    # Old ones loaded are forgotten: they are gone, and SQLite may give the new rows their ids.
    old = sa.inspect(request).attrs.allocations.loaded_value
    for allocation in () if old is sa.orm.base.NO_VALUE else old:
        db.session.expunge(allocation)
    db.session.expire(request, ["allocations"])
    # Nobody reads a source's parent here: not joined in for each site.
    sites = {site.id: site for site in db.session.scalars(
        sa.select(Site).where(Site.id.in_({row["from_site_id"] for row in rows}))
        .options(sa.orm.lazyload(Site.parent)))} if rows else {}
    materials = {line.material_id: line.material for line in request.lines}
    return [Planned(sites[row["from_site_id"]], materials[row["material_id"]], row["owner"], row["quantity"],
                    row["distance_km"], row["minutes"]) for row in rows]


@transactional
def plan(*, actor, request_id: int, allow_below_norm: bool = False) -> Plan:
    """生成调度方案: replace the request's allocations with a new plan from today's stock."""
    # The old plan is replaced unseen: not loaded, allocation by allocation, only to go.
    request = db.session.get(Request, request_id, options=[sa.orm.lazyload(Request.allocations)])
    if request is None:
        raise NotFound(_("需求申报 %(id)s 不存在", id=request_id))
    authorize(actor, "dispatch.manage", request.to_site)
    refuse_unless_pending(request)
    claim(request, statuses=PENDING_REQUEST_STATUSES,
          values={"status": "planned", "planned_at": clock.now(), "allow_below_norm": bool(allow_below_norm)},
          stale_message=_("需求申报已被他人修改或调度，请刷新后重试"))
    rows = nearest_plan(request, allow_below_norm=allow_below_norm)
    made = Plan(request, _replace_allocations(request, rows))
    record("request.planned", request.id, site=request.to_site, incident=request.incident_id, actor=actor,
           data={"allocations": [allocation_data(allocation) for allocation in made.allocations],
                 "unmet": [{"material": material.code, "quantity": quantity}
                           for material, quantity in unmet(made)]})
    return made


@transactional
def record_owner_approval(*, actor, request_id: int, data: dict) -> OwnerApproval:
    """登记所有者批准: another level agreed that its goods (省级前置物资) may serve this request."""
    fields = load(OWNER_APPROVAL, data)
    request = get_request(request_id)
    authorize(actor, "dispatch.manage", request.to_site)
    # Held until the end: two recordings for one owner at once queue here, and the second is
    # refused as a duplicate rather than failing on the unique index.
    db.session.execute(sa.select(Request.id).where(Request.id == request.id).with_for_update())
    db.session.refresh(request, ["status", "owner_approvals"])
    refuse_unless_pending(request)
    owner = fields["owner"].strip()
    errors = {}
    if owner == BUREAU:
        errors["owner"] = _("局方物资无需登记批准")
    if fields["approved_at"] > clock.now():
        errors["approved_at"] = _("批准时间不能晚于现在")
    if errors:
        raise ValidationError(errors)
    if any(approval.owner == owner for approval in request.owner_approvals):
        raise Duplicate(_("已登记“%(owner)s”的批准", owner=owner))
    approval = OwnerApproval(owner=owner, approved_by=fields["approved_by"], approved_at=fields["approved_at"],
                             reference=fields.get("reference") or "", recorded_by_id=getattr(actor, "id", None))
    request.owner_approvals.append(approval)
    db.session.flush()
    record_created(actor=actor, entity="owner_approval", key=f"{request.id}/{owner}", snapshot={
        "request": request.id, "owner": owner, "approved_by": approval.approved_by,
        "approved_at": approval.approved_at, "reference": approval.reference})
    return approval
