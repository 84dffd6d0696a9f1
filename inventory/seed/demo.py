"""Load the 高台县 demo from the project's own data files, through the same services users call."""

import csv
import datetime as dt
import secrets
from pathlib import Path

import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import create_user
from inventory.catalog.models import Material
from inventory.catalog.services import create_category, create_material
from inventory.db import db, run_in_transaction
from inventory.norms.models import Norm
from inventory.norms.services import create_norm
from inventory.sites.models import Site
from inventory.sites.services import create_site
from inventory.stock.models import StockItem
from inventory.stock.services import issue, receive, record_test
from inventory.stock.transfers import create_transfer, dispatch_transfer

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
    for row in _rows("categories.csv"):
        create_category(actor=COMMAND_LINE, data={
            "code": row["code"], "name": row["name"], "parent": row["parent"] or None})
    for row in _rows("materials.csv"):
        create_material(actor=COMMAND_LINE, data={
            "code": row["code"], "name": row["name"], "name_en": row["name_en"],
            "category": row["category"], "unit": row["unit"], "spec": row["spec"],
            "tracking": row["tracking"], "returnable": _flag(row["returnable"]),
            "shelf_life_days": _int(row["shelf_life_days"]),
            "needs_testing": _flag(row["needs_testing"])})
    agreements = _agreements()
    for row in _rows("sites.csv"):
        create_site(actor=COMMAND_LINE, data={
            "code": row["code"], "name": row["name"], "kind": row["kind"],
            "parent": row["parent"] or None,
            "population": _int(row["population"]), "households": _int(row["households"]),
            "planning_population": _int(row["planning_population"]),
            "latitude": _float(row["latitude"]), "longitude": _float(row["longitude"]),
            "hazards": row["hazards"].split(), "address": row["address"],
            "keeper_name": row["keeper_name"], "keeper_phone": row["keeper_phone"],
            "agreement": agreements.get(row["code"])})
    _load_stock()
    _load_norms()
    logins = []
    for username, role, sites in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        create_user(username=username, role=role, password=password, site_codes=sites,
                    actor=COMMAND_LINE)
        logins.append((username, role, password))
    return logins


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


def load_norms() -> int:
    """Load the default norms in one transaction; return how many (0 when norms exist already:
    the bureau's own edits are never overwritten)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Norm)):
        return 0
    return run_in_transaction(_load_norms)


def _load_stock() -> None:
    """Opening stock at every site, a few issues and loans (one overdue), a transfer on its way."""
    today = clock.today()
    for number, row in enumerate(_rows("opening_stock.csv")):
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
