"""Builders that the tests of every folder share: plain functions, no fixtures.

The fixtures of tests/conftest.py (``make_site``, ``make_user``, ``token_for``, ``login``,
``catalog``, ``keeper``, ``manager`` …) are thin wrappers over these. A test that needs a second
user, client or app calls them directly::

    colleague = page_client(app, make_user(app, "keeper", sites=["GT-XB"]))
"""

import datetime as dt
import re
import secrets

import requests

from inventory import clock
from inventory.auth.access import COMMAND_LINE

PASSWORD = "correct horse battery"


# --- sites, people and the catalog ----------------------------------------------------------

def make_site(app, code, *, kind=None, parent=None, **fields) -> str:
    """Build a site through the service, with defaults: ``make_site(app, "GT-XB", parent="GT")``."""
    from inventory.sites.services import create_site

    kind = kind or ("county_depot" if parent is None else "town_store")
    data = {"code": code, "name": fields.pop("name", f"站点{code}"), "kind": kind,
            "parent": parent, **fields}
    if kind == "agreement_site" and "agreement" not in data:
        today = clock.today()
        data["agreement"] = {"partner": "协议单位", "number": f"XY-{code}",
                             "valid_from": in_days(today, -365), "valid_to": in_days(today, 365)}
    with app.app_context():
        return create_site(actor=COMMAND_LINE, data=data).code


def make_user(app, role, *, sites=(), username=None, password=PASSWORD) -> str:
    """Build a user: ``make_user(app, "keeper", sites=["GT-XB"])``; answer the username."""
    from inventory.auth.services import create_user

    username = username or f"{role}{secrets.token_hex(3)}"
    with app.app_context():
        create_user(username=username, role=role, password=password, site_codes=list(sites),
                    actor=COMMAND_LINE)
    return username


def token_for(app, username, *, days=1) -> dict:
    """An API bearer header for ``username``, valid for ``days`` from the domain clock's now."""
    from inventory.auth.services import find_user, issue_token

    with app.app_context():
        token, _record = issue_token(user=find_user(username), days=days)
    return {"Authorization": f"Bearer {token}"}


def make_material(app, code, name, *, category="1-05", **fields) -> None:
    """Build a material (and its category, and that category's parent, when missing)."""
    from inventory.catalog.services import create_category, create_material, get_category
    from inventory.errors import NotFound

    with app.app_context():
        try:
            get_category(category)
        except NotFound:
            top = category.split("-")[0]
            if top != category:
                try:
                    get_category(top)
                except NotFound:
                    create_category(actor=COMMAND_LINE, data={"code": top, "name": f"类{top}"})
            create_category(actor=COMMAND_LINE, data={
                "code": category, "name": f"类{category}", "parent": top if top != category else None})
        create_material(actor=COMMAND_LINE, data={"code": code, "name": name, "category": category,
                                                   "unit": fields.pop("unit", "箱"), **fields})


def make_catalog(app) -> list[str]:
    """Water (lot, 1 year), tents (lot, returnable), generators (serial, returnable), quilts."""
    make_material(app, "WATER", "瓶装饮用水", shelf_life_days=365)
    make_material(app, "TENT", "棉帐篷", unit="顶", returnable=True)
    make_material(app, "GEN", "汽油发电机", unit="台", tracking="serial", returnable=True,
                  needs_testing=True)
    make_material(app, "QUILT", "棉被", unit="床")
    return ["WATER", "TENT", "GEN", "QUILT"]


def in_days(today: dt.date, days: int) -> str:
    """The date ``days`` after ``today`` (before, if negative), as the API and forms take it.
    ``today`` is the test's ``today`` fixture or ``clock.today()``, never the machine's date."""
    return (today + dt.timedelta(days=days)).isoformat()


# --- the API -------------------------------------------------------------------------------

class Api:
    """A JSON client of /api/v1 for one user: ``Api(app.test_client(), token_for(app, name))``."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def post(self, path, body=None, key=None, **kwargs):
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(f"/api/v1{path}", json=body, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kwargs)


def receive(api, site="GT-XB", material="WATER", quantity=10, **fields) -> dict:
    """A receipt through ``api`` that must succeed; answer its JSON."""
    response = api.post("/receipts", {"site": site, "material": material, "quantity": quantity,
                                      **fields})
    assert response.status_code == 201, response.json
    return response.json


def issue(api, lines, *, site="GT-XB", recipient=None, **fields) -> dict:
    """An issue of ``lines`` at ``site`` through ``api`` that must succeed; answer its JSON.
    The recipient is a person, 王, unless ``recipient`` says otherwise."""
    response = api.post("/issues", {"site": site, "recipient": recipient or {"type": "person", "name": "王"},
                                    "lines": lines, **fields})
    assert response.status_code == 201, response.json
    return response.json


def check_ledger(app) -> tuple[int, str]:
    """Run `flask check ledger`; answer its exit code and output."""
    result = app.test_cli_runner().invoke(args=["check", "ledger"])
    return result.exit_code, result.output


def http_post(base, headers, path, body=None, *, key=None, timeout=60) -> requests.Response:
    """POST ``body`` as JSON to /api/v1``path`` of an app served at ``base`` (gunicorn, nginx,
    a proxy), as a phone does; ``key`` is the Idempotency-Key."""
    extra = {"Idempotency-Key": key} if key else {}
    return requests.post(f"{base}/api/v1{path}", json=body, headers={**headers, **extra},
                         timeout=timeout)


# --- pages ---------------------------------------------------------------------------------

def csrf_token(page_html: str) -> str:
    """The CSRF token of the first form of a rendered page."""
    return re.search(r'name="csrf_token" type="hidden" value="([^"]*)"', page_html)[1]


def form_key(page_html: str) -> str:
    """The once-only idempotency key of a rendered stock form."""
    return re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]{32})"', page_html)[1]


def log_in(client, username, password=PASSWORD):
    """Log ``client`` in to the pages as ``username`` (with a CSRF token when the app checks
    them); the login must succeed. Answer the login response."""
    data = {"username": username, "password": password}
    if client.application.config["WTF_CSRF_ENABLED"]:
        data["csrf_token"] = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def page_client(app, username, password=PASSWORD):
    """A fresh test client logged in to the pages as ``username``."""
    client = app.test_client()
    log_in(client, username, password)
    return client


# Hidden fields and meta tags whose value is new at every render: CSRF tokens (signed with the
# second they were made; the layout's logout form carries one even with CSRF checks off, and
# prefixed forms name theirs "reset-csrf_token") and the once-only keys of stock forms (a fresh
# uuid4 each time).
_TAG = re.compile(r"<(?:input|meta)\b[^>]*>", re.IGNORECASE)
_PER_RENDER_NAME = re.compile(r'\bname="(?:[\w-]+-)?(?:csrf_token|csrf-token|idempotency_key)"')
_VALUE = re.compile(r'\b(value|content)="[^"]*"')
_NONCE = re.compile(r'\bnonce="[^"]*"')


def masked(html: str) -> str:
    """``html`` with what differs from one render of the same page to the next blanked out
    (CSRF tokens, idempotency keys, nonces), so that two pages can be compared for what they
    say: ``assert masked(a) == masked(b)``."""

    def mask(tag: re.Match) -> str:
        return _VALUE.sub(r'\1="…"', tag[0]) if _PER_RENDER_NAME.search(tag[0]) else tag[0]

    return _NONCE.sub('nonce="…"', _TAG.sub(mask, html))
