"""批准调拨: a plan (or the dispatcher's edit of it) becomes one transfer per source, already in
transit, in one unit of work that locks what it takes and checks it again; and the conditional
moves of a request between states that plans and approvals share.

Why check again: a plan is read without locks, and stock moves after it (another dispatcher's
approval, a keeper's issue). Under the locks the quantities are the real ones; when any
allocation cannot be met nothing is written and the answer lists what changed (409).
"""

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import clock
from inventory.auth.access import authorize
from inventory.db import db, transactional
from inventory.dispatch.models import PENDING_REQUEST_STATUSES, REQUEST_STATUS_NAMES, Allocation, Request
from inventory.dispatch.schemas import APPROVAL
from inventory.dispatch.services import get_request
from inventory.dispatch.sources import (
    BUREAU,
    Allowance,
    approved_owners,
    candidate_sources,
    cut_off_sites,
    norm_requirements,
)
from inventory.errors import InsufficientStock, InvalidState, ValidationError
from inventory.feed.services import record
from inventory.sites.models import Site
from inventory.stock import ledger
from inventory.stock.allocation import FIRST_EXPIRY_FIRST, usable_items
from inventory.stock.models import StockItem
from inventory.stock.transfers import send_transfer
from inventory.validation import load


def claim(request: Request, *, statuses, values: dict, stale_message) -> None:
    """Move ``request`` on with a conditional UPDATE on the version and status read: of two
    plans or approvals at once, one wins and the other is refused with ``stale_message``."""
    moved = db.session.execute(
        sa.update(Request).where(Request.id == request.id, Request.version == request.version,
                                 Request.status.in_(statuses))
        .values(**values, version=Request.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise InvalidState(stale_message)
    # Only what the UPDATE wrote, and the users or sites its keys point to: the version matched,
    # so nothing else changed since the request was read, and reloading its lines, approvals and
    # allocations again cost more than a province's nearest-first plan read (PB12).
    written = {*values, "version"}
    pointed_to = [relationship.key for relationship in sa.inspect(Request).relationships
                  if any(column.key in written for column in relationship.local_columns)]
    db.session.refresh(request, [*written, *pointed_to])


def refuse_unless_pending(request: Request) -> None:
    """A request is planned (and approved) only while it waits and its incident is open."""
    if not request.incident.is_open:
        raise InvalidState(_("灾情事件“%(name)s”已结束", name=request.incident.name))
    if request.status not in PENDING_REQUEST_STATUSES:
        raise InvalidState(_("需求申报 %(id)d 的状态是“%(status)s”，不能再调度",
                             id=request.id, status=REQUEST_STATUS_NAMES[request.status]))


def allocation_data(allocation: Allocation) -> dict:
    """An allocation as events and answers give it."""
    return {"from_site": allocation.from_site.code, "material": allocation.material.code,
            "owner": allocation.owner, "quantity": allocation.quantity,
            "distance_km": allocation.distance_km, "minutes": allocation.minutes}


def is_the_plan(request: Request, given: list[dict]) -> bool:
    """Whether allocations ``given`` (as APPROVAL takes them) are the stored plan unchanged:
    then approving them is approving the plan, which is checked as planned."""
    def key(entry):
        return entry["from_site"], entry["material"], entry.get("owner") or BUREAU, entry["quantity"]

    planned = [(a.from_site.code, a.material.code, a.owner, a.quantity) for a in request.allocations]
    return request.status == "planned" and sorted(map(key, given)) == sorted(planned)


def _edited(request: Request, given: list[dict]) -> list[Allocation]:
    """The dispatcher's allocations, each checked against the request and against what
    candidate_sources allows its source (norm spares shared across lines as a plan shares
    them); raise ValidationError naming every bad one."""
    if not given:
        raise ValidationError({"allocations": _("至少填写一行分配")})
    sites = {site.code: site for site in db.session.scalars(
        sa.select(Site).where(Site.code.in_({entry["from_site"] for entry in given}))
        .options(sa.orm.lazyload(Site.parent)))}
    cut_off = set(db.session.scalars(cut_off_sites(request.incident_id)))
    lines = {line.material.code: line for line in request.lines}
    owners = approved_owners(request)
    # The given sites' sources only: a floor is per site, so they are the same as in a full read.
    sources = {source.key: source for source in
               candidate_sources(request, allow_below_norm=request.allow_below_norm,
                                 site_ids={site.id for site in sites.values()})}
    allowance, totals, seen, errors, allocations = Allowance(), {}, set(), {}, []
    for index, entry in enumerate(given):
        where = f"allocations.{index}"
        site, line = sites.get(entry["from_site"]), lines.get(entry["material"])
        owner = entry.get("owner") or BUREAU
        if site is None:
            errors[f"{where}.from_site"] = _("站点 %(code)s 不存在", code=entry["from_site"])
        elif site.id == request.to_site_id:
            errors[f"{where}.from_site"] = _("不能从申报站点本身调出")
        elif site.id in cut_off:
            errors[f"{where}.from_site"] = _("%(site)s 已断路，不能作为调出站点", site=site.name)
        if line is None:
            errors[f"{where}.material"] = _("物资 %(code)s 不在本需求申报中", code=entry["material"])
        if owner not in owners:
            errors[f"{where}.owner"] = _("尚未登记所有者“%(owner)s”的批准", owner=owner)
        if where + ".from_site" in errors or where + ".material" in errors or where + ".owner" in errors:
            continue
        key = (site.id, line.material_id, owner)
        if key in seen:
            errors[f"{where}.from_site"] = _("同一站点、物资和所有者只能填写一行")
            continue
        seen.add(key)
        totals[line.material_id] = totals.get(line.material_id, 0) + entry["quantity"]
        if totals[line.material_id] > line.quantity:
            errors[f"{where}.quantity"] = _("合计超出申报数量 %(n)d", n=line.quantity)
            continue
        source = sources.get(key)
        if entry["quantity"] > (left := allowance.left(source)):
            errors[f"{where}.quantity"] = _("超出该站点可调数量 %(n)d", n=left)
            continue
        allowance.take(source, entry["quantity"])
        allocations.append(Allocation(from_site_id=site.id, material_id=line.material_id, owner=owner,
                                      quantity=entry["quantity"], distance_km=source.distance_km,
                                      minutes=source.minutes))
    if errors:
        raise ValidationError(errors)
    return allocations


def _locked_picks(request: Request, allocations: list[Allocation]) -> dict[int, list]:
    """Lock every item the allocations could take or their sources' norms count, in id order;
    answer the items each allocation takes (by index), first expiry first out; raise
    InsufficientStock listing every allocation the stock as it is now cannot meet."""
    today = clock.today()
    site_ids = {allocation.from_site_id for allocation in allocations}
    material_ids = {allocation.material_id for allocation in allocations}
    required, norm_materials = (({}, {}) if request.allow_below_norm
                                else norm_requirements(site_ids, material_ids))
    counted = material_ids.union(*norm_materials.values())
    items = list(db.session.scalars(
        sa.select(StockItem).options(sa.orm.lazyload(StockItem.site))
        .where(StockItem.site_id.in_(site_ids), StockItem.material_id.in_(counted), *usable_items(today))
        .order_by(*FIRST_EXPIRY_FIRST)))
    ledger.lock(items)
    items = [item for item in items if item.status == "available" and item.quantity > 0]
    # Indexed once, while the locks are held: the (site, norm) floors each (site, material)
    # counts towards, and each source's items in first-expiry order.
    floors_of: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for site_id, norm_id in required:
        for material_id in norm_materials[norm_id]:
            floors_of.setdefault((site_id, material_id), []).append((site_id, norm_id))
    # The norms' spares from the locked quantities: what the floor check trusts.
    spare = {pair: -quantity for pair, quantity in required.items()}
    groups: dict[tuple[int, int, str], list[StockItem]] = {}
    for item in items:
        groups.setdefault((item.site_id, item.material_id, item.owner), []).append(item)
        for pair in floors_of.get((item.site_id, item.material_id), ()):
            spare[pair] += item.quantity
    remaining = {item.id: item.quantity for item in items}
    short, picks = [], {}
    for index, allocation in enumerate(allocations):
        key = (allocation.from_site_id, allocation.material_id, allocation.owner)
        group, floors = groups.get(key, []), floors_of.get(key[:2], [])
        available = max(0, min([sum(remaining[item.id] for item in group), *(spare[pair] for pair in floors)]))
        if allocation.quantity > available:
            short.append({"line": index, "from_site": allocation.from_site.code,
                          "material": allocation.material.code, "requested": allocation.quantity,
                          "available": available})
            continue
        for pair in floors:
            spare[pair] -= allocation.quantity
        wanted, taken = allocation.quantity, []
        for item in group:
            share = min(wanted, remaining[item.id])
            if share > 0:
                taken.append((item, share))
                remaining[item.id] -= share
                wanted -= share
        picks[index] = taken
    if short:
        raise InsufficientStock(_("调出站点的库存已变动，没有任何改动，请重新生成方案"), details=short)
    return picks


@transactional
def approve(*, actor, request_id: int, data: dict) -> list:
    """批准: send the plan (or the allocations given in its place) as one transfer per source,
    already in transit; all of it or, when stock moved since the plan, none of it."""
    fields = load(APPROVAL, data)
    request = get_request(request_id)
    authorize(actor, "dispatch.manage", request.to_site)
    refuse_unless_pending(request)
    if fields.get("version") is not None and fields["version"] != request.version:
        raise InvalidState(_("调度方案已被重新生成或修改，请刷新后重试"))
    given = fields.get("allocations")
    if given is None and request.status != "planned":
        raise InvalidState(_("需求申报 %(id)d 尚未生成调度方案", id=request.id))
    claim(request, statuses=PENDING_REQUEST_STATUSES,
          values={"status": "approved", "approved_at": clock.now(),
                  "approved_by_id": getattr(actor, "id", None)},
          stale_message=_("调度方案已被他人修改或批准，请刷新后重试"))
    if given is not None:
        request.allocations = _edited(request, given)
        db.session.flush()
        db.session.refresh(request, ["allocations"])
    allocations = list(request.allocations)
    if not allocations:
        raise InvalidState(_("调度方案没有可调拨的物资"))
    picks = _locked_picks(request, allocations)
    by_source: dict[int, list[int]] = {}
    for index, allocation in enumerate(allocations):
        by_source.setdefault(allocation.from_site_id, []).append(index)
    transfers = []
    for indexes in by_source.values():
        transfer = send_transfer(
            actor=actor, source=allocations[indexes[0]].from_site, destination=request.to_site,
            picks=[pick for index in indexes for pick in picks[index]], incident_id=request.incident_id,
            note=_("需求申报 %(id)d（%(incident)s）", id=request.id, incident=request.incident.name),
            driver_name=fields.get("driver_name") or "", driver_phone=fields.get("driver_phone") or "",
            vehicle=fields.get("vehicle") or "")
        for index in indexes:
            allocations[index].transfer = transfer
        transfers.append(transfer)
    db.session.flush()
    record("request.approved", request.id, site=request.to_site, incident=request.incident_id, actor=actor,
           data={"transfers": [transfer.number for transfer in transfers]})
    return transfers
