"""Load the 高台县 demo from the project's own data files, through the same services users call."""

import csv
import secrets
from pathlib import Path

import sqlalchemy as sa

from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import create_user
from inventory.catalog.services import create_category, create_material
from inventory.db import db, run_in_transaction
from inventory.sites.models import Site
from inventory.sites.services import create_site

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
    logins = []
    for username, role, sites in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        create_user(username=username, role=role, password=password, site_codes=sites,
                    actor=COMMAND_LINE)
        logins.append((username, role, password))
    return logins


def load_demo() -> list[tuple[str, str, str]]:
    """Load everything in one transaction; return (username, role, password) of the demo users."""
    return run_in_transaction(_load)
