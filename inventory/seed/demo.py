"""Load the 高台县 demo from the project's own data files, through the same services users call."""

import csv
import datetime as dt
import secrets
from pathlib import Path

import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import create_user, find_user
from inventory.catalog.models import Material
from inventory.catalog.services import create_category, create_material
from inventory.db import db, run_in_transaction
from inventory.dispatch.kits import create_kit
from inventory.dispatch.models import Kit
from inventory.norms.models import Norm
from inventory.norms.services import create_norm
from inventory.seed import incidents
from inventory.sites.models import Agreement, Site
from inventory.sites.services import create_site, update_site
from inventory.stock.models import StockItem
from inventory.stock.services import issue, receive, record_test
from inventory.stock.transfers import create_transfer, dispatch_transfer
from inventory.stocktakes import approval
from inventory.stocktakes import queries as stocktake_queries
from inventory.stocktakes import services as stocktakes
from inventory.stocktakes.models import quarter_of

DATA = Path(__file__).resolve().parent / "data"

# One demo account per role; keepers and auditors are given the sites they look after.
DEMO_USERS = (
    ("admin", "admin", ()),
    ("manager", "manager", ()),
    ("dispatcher", "dispatcher", ()),
    ("keeper", "keeper", ("GT-XB",)),
    ("auditor", "auditor", ("GT-NH", "GT-LC")),
    ("viewer", "viewer", ()),
)


# The demo's calendar, in days before the day it is loaded. The county went onto the system half
# a year ago; the last round of quarterly counts (季度盘点) closed five to ten weeks ago at every
# site but 南华镇兴隆五金店, whose count (and 代储 verification) is overdue; 新坝镇, counted twelve
# weeks ago and so due again within the fortnight, is being counted now; 和平村便民商店 joined
# three weeks ago and is neither verified nor due yet.
OPENED_DAYS_AGO = 180
JOINED_DAYS_AGO = {"GT-XB-HP-DC1": 20}
OVERDUE = "GT-NH-DC1"
ROUND_DAYS_AGO = (70, 36)
XINBA_COUNTED_DAYS_AGO = 84
# Towns counted with their village points and agreement sites in one stocktake.
WITH_SUB_SITES = ("GT-HL", "GT-LC")
# The round's variances, each with its reason: (site, material, counted − books, reason).
VARIANCES = (
    ("GT-XJK", "1-02-001", -2, "救灾发放时漏登记 2 床，已补签领条"),
    ("GT-CG", "1-05-001", 1, "上次入库少点 1 箱"),
    ("GT-XB-DC1", "1-05-001", -6, "合作方临时售出 6 箱，已书面要求十日内补足"),
)


def _rows(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _int(text: str):
    return int(text) if text.strip() else None


def _float(text: str):
    return float(text) if text.strip() else None


def _flag(text: str) -> bool:
    return text.strip().lower() in ("true", "yes", "1")


def database_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 0


def _agreements() -> dict[str, dict]:
    lines: dict[str, list] = {}
    for row in _rows("agreement_lines.csv"):
        lines.setdefault(row["site"], []).append(
            {"material": row["material"], "quantity": int(row["quantity"])})
    return {row["site"]: {
        "partner": row["partner"], "number": row["number"], "storage": row["storage"],
        "valid_from": row["valid_from"], "valid_to": row["valid_to"],
        "last_verified": row["last_verified"] or None,
        "contact_name": row["contact_name"], "contact_phone": row["contact_phone"],
        "lines": lines.get(row["site"], []),
    } for row in _rows("agreements.csv")}


def _load() -> list[tuple[str, str, str]]:
    """The county as it stands today: on the system for half a year (OPENED_DAYS_AGO), its last
    round of quarterly counts closed, 新坝镇's next count under way, today's issues and loans."""
    today = clock.today()
    agreements = _agreements()
    with clock.travel(today - dt.timedelta(days=OPENED_DAYS_AGO)):
        _load_catalog()
        for row in _rows("sites.csv"):
            if row["code"] not in JOINED_DAYS_AGO:
                _create_site(row, agreements)
        _opening_stock(today, skip=JOINED_DAYS_AGO)
        _load_norms()
        _load_kits()
        logins = []
        for username, role, sites in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            create_user(username=username, role=role, password=password, site_codes=sites,
                        actor=COMMAND_LINE)
            logins.append((username, role, password))
    _last_round(today)
    incidents.flood(today)
    for row in _rows("sites.csv"):
        if row["code"] in JOINED_DAYS_AGO:
            with clock.travel(today - dt.timedelta(days=JOINED_DAYS_AGO[row["code"]])):
                _create_site(row, agreements)
                _opening_stock(today, only=row["code"])
    _count_in_progress(today)
    _earlier_verifications(agreements)
    incidents.drill(clock.now())
    _todays_work(today)
    return logins


def _load_catalog() -> None:
    for row in _rows("categories.csv"):
        create_category(actor=COMMAND_LINE, data={
            "code": row["code"], "name": row["name"], "parent": row["parent"] or None})
    for row in _rows("materials.csv"):
        create_material(actor=COMMAND_LINE, data={
            "code": row["code"], "name": row["name"], "name_en": row["name_en"],
            "category": row["category"], "unit": row["unit"], "spec": row["spec"],
            "tracking": row["tracking"], "returnable": _flag(row["returnable"]),
            "shelf_life_days": _int(row["shelf_life_days"]),
            "needs_testing": _flag(row["needs_testing"]),
            "unit_price": _float(row.get("unit_price") or "")})


def _create_site(row: dict, agreements: dict) -> None:
    agreement = agreements.get(row["code"])
    if agreement is not None:
        # A verification is a count now: the demo's own counts date them (_earlier_verifications).
        agreement = {**agreement, "last_verified": None}
    create_site(actor=COMMAND_LINE, data={
        "code": row["code"], "name": row["name"], "kind": row["kind"],
        "parent": row["parent"] or None,
        "population": _int(row["population"]), "households": _int(row["households"]),
        "planning_population": _int(row["planning_population"]),
        "latitude": _float(row["latitude"]), "longitude": _float(row["longitude"]),
        "hazards": row["hazards"].split(), "address": row["address"],
        "keeper_name": row["keeper_name"], "keeper_phone": row["keeper_phone"],
        "agreement": agreement})


def _load_norms() -> int:
    rows = _rows("norms.csv")
    for row in rows:
        create_norm(actor=COMMAND_LINE, data={
            "name": row["name"], "site_kind": row["site_kind"], "hazard": row["hazard"] or None,
            "materials": row["materials"].split(), "min_quantity": int(row["min_quantity"]),
            "per_person": float(row["per_person"]),
            "count_agreement_sites": _flag(row["count_agreement_sites"]),
            "readiness": row["readiness"] or None, "basis": row["basis"]})
    return len(rows)


def _load_kits() -> int:
    """The default relief kits of kits.csv (one row per kit line, the kit's note on its first)."""
    kits: dict[str, dict] = {}
    for row in _rows("kits.csv"):
        kit = kits.setdefault(row["kit"], {"name": row["kit"], "basis": row["basis"], "note": "",
                                           "lines": []})
        kit["note"] = kit["note"] or row["note"]
        kit["lines"].append({"material": row["material"], "quantity": float(row["quantity"])})
    for kit in kits.values():
        create_kit(actor=COMMAND_LINE, data=kit)
    return len(kits)


def load_defaults() -> tuple[int, int]:
    """Load the default norms and relief kits (救灾物资包) in one transaction; return how many of
    each. Either is left as it is when the bureau has any already: its own edits are never
    overwritten."""
    def work():
        def missing(model) -> bool:
            return not db.session.scalar(sa.select(sa.func.count()).select_from(model))

        return (_load_norms() if missing(Norm) else 0), (_load_kits() if missing(Kit) else 0)

    return run_in_transaction(work)


def _opening_stock(today: dt.date, *, skip=(), only: str | None = None) -> None:
    """期初库存: each site's opening stock, received on the clock's day; expiry dates count from
    ``today``, the day the demo is loaded."""
    for number, row in enumerate(_rows("opening_stock.csv")):
        if row["site"] in skip or (only is not None and row["site"] != only):
            continue
        data = {"site": row["site"], "material": row["material"], "quantity": int(row["quantity"]),
                "lot": row["lot"] or None, "source": row["source"] or None,
                "note": "期初库存"}
        if row["expiry_days"]:
            data["expiry_date"] = today + dt.timedelta(days=int(row["expiry_days"]))
        if row["owner"]:
            data["owner"] = row["owner"]
        if int(row["serials"]):
            data["serials"] = [f"SN{row['material'].replace('-', '')}{number:03d}{n:02d}"
                               for n in range(int(row["serials"]))]
        receive(actor=COMMAND_LINE, data=data)


def _todays_work(today: dt.date) -> None:
    """A few issues and loans (one overdue), a transfer on its way, the month's test runs."""

    def hand_out(site, recipient, lines, purpose):
        return issue(actor=COMMAND_LINE, data={"site": site, "recipient": recipient,
                                               "purpose": purpose, "lines": lines})

    hand_out("GT-XB", {"type": "unit", "name": "新坝镇和平村村委会", "contact": "0936-5620188"},
             [{"material": "1-01-002", "quantity": 4, "due_back": today + dt.timedelta(days=20)}],
             "泥石流隐患点临时安置演练")
    hand_out("GT-XB", {"type": "household", "name": "和平村三社受灾户（12户）"},
             [{"material": "1-05-001", "quantity": 12}, {"material": "1-02-001", "quantity": 12}],
             "6月强降雨受灾群众生活救助")
    overdue = hand_out("GT-NH", {"type": "team", "name": "南华镇应急抢险队",
                                 "contact": "0936-5621203"},
                       [{"material": "2-02-001", "quantity": 1,
                         "due_back": today + dt.timedelta(days=1)}],
                       "排涝现场供电")
    # The demo needs one loan that is already late: as if lent weeks ago and due last week.
    # A due date is a promise on the loan, not a quantity, so the ledger is untouched.
    overdue.lines[0].due_date = today - dt.timedelta(days=6)
    transfer = create_transfer(actor=COMMAND_LINE, data={
        "from_site": "GT-XJK", "to_site": "GT-LC", "note": "补充罗城镇易“三断”储备",
        "lines": [{"material": "1-02-001", "quantity": 60},
                  {"material": "1-01-002", "quantity": 20}]})
    dispatch_transfer(actor=COMMAND_LINE, number=transfer.number)
    _test_equipment(today)


# --- 季度盘点 -----------------------------------------------------------------------------------

def _counter_for(code: str) -> str:
    """Who counts a site: 新坝镇's keeper its own tree, the auditor 南华镇's and 罗城镇's, the
    administrator the rest (the demo has one keeper)."""
    if code == "GT-XB" or code.startswith("GT-XB-"):
        return "keeper"
    if code.split("-")[:2] in (["GT", "NH"], ["GT", "LC"]):
        return "auditor"
    return "admin"


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.timezone())


def _open(code: str, day: dt.date, *, include_sub_sites: bool = False):
    """The manager opens a count at 09:00 of ``day``, naming its counter; answer the stocktake."""
    with clock.travel(_at(day, 9)):
        return stocktakes.open_stocktake(actor=find_user("manager"), data={
            "site": code, "period": quarter_of(day), "include_sub_sites": include_sub_sites,
            "counters": [_counter_for(code)], "note": "季度盘点"})


def _count_lines(stocktake, day: dt.date, *, variances=(), limit: int | None = None) -> dict:
    """The counter counts the lines (the first ``limit``) from 09:30 of ``day``: as the books
    say, but for ``variances`` (material → delta). Answer {label: reason} for those."""
    counter, reasons = find_user(_counter_for(stocktake.site.code)), {}
    wanted = {material: (delta, reason) for material, delta, reason in variances}
    with clock.travel(_at(day, 9, 30)):
        for line in stocktake_queries.lines(stocktake, books=False)[:limit]:
            counted = line.item.quantity
            if (change := wanted.pop(line.item.material.code, None)) is not None:
                counted += change[0]
                reasons[line.label] = change[1]
            stocktakes.record_count(actor=counter, stocktake_id=stocktake.id,
                                    data={"label": line.label, "counted": counted})
    return reasons


def _close(code: str, day: dt.date, *, include_sub_sites: bool = False) -> None:
    """A whole count of ``code`` on ``day``: opened, counted, submitted, approved by 16:00."""
    stocktake = _open(code, day, include_sub_sites=include_sub_sites)
    reasons = _count_lines(stocktake, day, variances=[v[1:] for v in VARIANCES if v[0] == code])
    with clock.travel(_at(day, 11)):
        stocktakes.submit(actor=find_user(_counter_for(code)), stocktake_id=stocktake.id)
    with clock.travel(_at(day, 16)):
        approval.approve(actor=find_user("manager"), stocktake_id=stocktake.id,
                           data={"reasons": reasons})


def _last_round(today: dt.date) -> None:
    """The last round of quarterly counts, oldest first: 新坝镇 twelve weeks ago, then every other
    site (a town in WITH_SUB_SITES with all under it) between ten and five weeks ago — except the
    overdue agreement site and the sites that joined later."""
    _close("GT-XB", today - dt.timedelta(days=XINBA_COUNTED_DAYS_AGO))
    codes = [row["code"] for row in _rows("sites.csv")
             if row["code"] not in (OVERDUE, "GT-XB", *JOINED_DAYS_AGO)
             and not any(row["code"].startswith(f"{town}-") for town in WITH_SUB_SITES)]
    first, last = ROUND_DAYS_AGO
    for number, code in enumerate(codes):
        days_ago = first - (first - last) * number // max(len(codes) - 1, 1)
        _close(code, today - dt.timedelta(days=days_ago), include_sub_sites=code in WITH_SUB_SITES)


def _count_in_progress(today: dt.date) -> None:
    """新坝镇's next count: opened two days ago, its keeper half way through yesterday."""
    stocktake = _open("GT-XB", today - dt.timedelta(days=2))
    total = len(stocktake_queries.lines(stocktake, books=False))
    _count_lines(stocktake, today - dt.timedelta(days=1), limit=total // 2)


def _earlier_verifications(agreements: dict) -> None:
    """An agreement site the demo did not count keeps the verification of agreements.csv (南华镇's,
    older than 92 days), entered as the bureau would through the site's agreement."""
    verified = dict(db.session.execute(sa.select(Site.code, Agreement.last_verified).join(Agreement)).all())
    for code, agreement in agreements.items():
        if agreement["last_verified"] and verified.get(code) is None:
            update_site(actor=COMMAND_LINE, code=code, changes={"agreement": agreement})


def _test_equipment(today: dt.date) -> None:
    """Most equipment was test-run in the last three weeks; 罗城镇's has not been for 40 days."""
    equipment = db.session.scalars(
        sa.select(StockItem).join(StockItem.material).join(StockItem.site)
        .where(Material.needs_testing.is_(True), StockItem.serial.is_not(None),
               StockItem.status == "available", StockItem.quantity > 0)
        .order_by(StockItem.id)).all()
    for number, item in enumerate(equipment):
        late = item.site.code.startswith("GT-LC")
        record_test(actor=COMMAND_LINE, data={
            "label": item.label, "result": "ok", "note": "月度试机",
            "tested_on": today - dt.timedelta(days=40 if late else 3 + number % 18)})


def load_demo() -> list[tuple[str, str, str]]:
    """Load everything in one transaction; return (username, role, password) of the demo users."""
    return run_in_transaction(_load)
