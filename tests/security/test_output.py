"""What the app sends back: security headers and no inline script on every page (S9), stored
markup shown as text on every page, label PDF and API answer (S10), and exports that a
spreadsheet cannot turn into formulas (S11). Pages come from the URL map (routes.py)."""

import html
import io
import re
import zipfile
from html.parser import HTMLParser

import openpyxl
import pypdfium2
import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.db import db
from inventory.reports.spreadsheets import neutralised
from tests.factories import page_client
from tests.security.conftest import IMG, RAW_TAGS, SCRIPT
from tests.security.routes import calls, read

SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin",
                          "strict-origin-when-cross-origin"}
SCANNER_SCRIPTS = ("js/scanner.js", "js/scan-lines.js", "js/scan-page.js")
# Query strings that pages might echo back (reflected markup).
REFLECTED = ["/sites/?q={p}", "/catalog/?q={p}", "/audit/?key={p}", "/stock/issue?label={p}",
             "/stock/transfers/new?label={p}", "/sites/new?parent={p}", "/labels/?site={p}",
             "/login?next={p}", "/s/{p}", "/stock/ledger?since={p}"]


class PageMarkup(HTMLParser):
    """Collects what a strict CSP would block or what injected markup would look like."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> handler")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower() \
                    .startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script":
            source = dict(attrs).get("src")
            if not source:
                self.problems.append("inline <script>")
            self.scripts.append(source or "")
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"script body {data.strip()[:40]!r}")


def _header_problems(response, markup: PageMarkup) -> list[str]:
    headers, problems = response.headers, []
    directives = {}
    for part in headers.get("Content-Security-Policy", "").split(";"):
        if words := part.split():
            directives[words[0]] = words[1:]
    scripts = directives.get("script-src", directives.get("default-src"))
    if not scripts or "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts:
        problems.append(f"script-src {scripts}")
    for name in ("object-src", "base-uri", "frame-ancestors"):
        if directives.get(name) != ["'none'"]:
            problems.append(f"{name} {directives.get(name)}")
    expected = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                "Cache-Control": "no-store"}
    problems += [f"{name}: {headers.get(name)}" for name, value in expected.items()
                 if headers.get(name) != value]
    if headers.get("Referrer-Policy") not in SAFE_REFERRER_POLICIES:
        problems.append(f"Referrer-Policy: {headers.get('Referrer-Policy')}")
    scanner = any(source.endswith(SCANNER_SCRIPTS) for source in markup.scripts)
    camera = "camera=(self)" in headers.get("Permissions-Policy", "")
    if camera != scanner or (not camera and "camera=()" not in headers.get("Permissions-Policy", "")):
        problems.append(f"camera allowed={camera} on a page that scans={scanner}")
    return problems


def _page_problems(response) -> list[str]:
    """S9 and S10 on one HTML answer."""
    body = response.get_data(as_text=True)
    markup = PageMarkup()
    markup.feed(body)
    markup.close()
    raw = [f"raw {tag!r}" for tag in RAW_TAGS if tag in body]
    return markup.problems + raw + _header_problems(response, markup)


def test_every_page_is_locked_down_and_shows_stored_markup_as_text(app, demo_world, token_for):
    """An admin (who may open everything) crawls every page of the URL map on the demo county,
    where names, lots, serials, recipients and notes carry <script> and onerror= markup; label
    PDFs print that markup and the API returns it as JSON data."""
    admin = page_client(app, demo_world.admin)
    failures, shown = [], set()
    pages = [(endpoint, call) for endpoint, requests in calls(demo_world).items()
             for call in requests if call.method == "GET" and not call.api]
    pages += [("reflected", read(path.format(p=payload)))
              for path in REFLECTED for payload in (SCRIPT, IMG)]
    pages.append(("errors", read("/nowhere", found=False)))
    html_pages = 0
    for endpoint, call in pages:
        response = admin.get(call.path)
        where = f"{endpoint} {call.path} → {response.status_code}"
        expected = (200, 302) if call.found else (404,)
        if endpoint != "reflected" and response.status_code not in expected:
            failures.append(f"{where}: expected {expected}")
        if response.status_code >= 500:
            failures.append(f"{where}: server error")
        if response.mimetype == "text/html":
            html_pages += 1
            failures += [f"{where}: {problem}" for problem in _page_problems(response)]
            text = html.unescape(response.get_data(as_text=True))
            if SCRIPT in text or IMG in text:
                shown.add(endpoint)
        elif response.status_code == 200 and response.headers.get("X-Content-Type-Options") != "nosniff":
            failures.append(f"{where}: {response.mimetype} without nosniff")
    failures += _label_pdfs_print_markup_as_text(admin, demo_world)
    failures += _api_returns_markup_verbatim(app, admin, demo_world, token_for(demo_world.admin))
    assert not failures, "\n".join(failures)
    assert html_pages >= 60
    # The markup is there, as text, wherever the record it was stored in is shown.
    assert {"sites.show", "sites.index", "stock.item", "stock.issue_slip", "stock.receipt",
            "stock.transfer", "stock.index", "stock.ledger", "stock.loans", "catalog.show",
            "catalog.index", "catalog.category_index", "norms.index", "auth.users",
            "labels.scan", "sites.edit", "catalog.edit", "norms.edit"} <= shown, sorted(shown)


def _pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    text = "".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    return "".join(text.split())


def _label_pdfs_print_markup_as_text(client, w) -> list[str]:
    """S10 for label sheets: the stored markup is drawn as the characters typed, not dropped."""
    problems = []
    for path, expected in (
            (f"/labels/receipt/{w.b_receipt}.pdf", ["帐篷" + SCRIPT, "nhlotsecret" + IMG]),
            (f"/labels/items.pdf?site={w.site_b}&material={w.equipment}", ["nhserialsecret" + SCRIPT]),
            (f"/labels/site/{w.site_b}.pdf", ["南华镇" + IMG, "nhaddresssecret" + SCRIPT])):
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "application/pdf":
            problems.append(f"{path} → {response.status_code} {response.mimetype}")
            continue
        text = _pdf_text(response.data)
        problems += [f"{path}: {value!r} not printed" for value in expected
                     if "".join(value.split()) not in text]
    return problems


def _api_returns_markup_verbatim(app, client, w, headers) -> list[str]:
    """S10 for JSON: markup is data, returned exactly as stored, as application/json."""
    answers = {
        f"/api/v1/stock/{w.b_label}": ("lot", "nhlotsecret" + IMG),
        f"/api/v1/materials/{w.material}": ("name", "帐篷" + SCRIPT),
        f"/api/v1/sites/{w.site_b}": ("address", "nhaddresssecret" + SCRIPT),
    }
    problems = []
    api = app.test_client()
    for path, (field, value) in answers.items():
        response = api.get(path, headers=headers)
        if response.mimetype != "application/json" or response.json.get(field) != value:
            problems.append(f"{path}: {response.mimetype} {field}={response.json}")
    lookup = client.get(f"/scan/lookup/{w.b_label}")
    if lookup.mimetype != "application/json" or lookup.json["lot"] != "nhlotsecret" + IMG:
        problems.append(f"/scan/lookup: {lookup.mimetype} {lookup.get_data(as_text=True)[:80]}")
    return problems


# --- S11: exports --------------------------------------------------------------------------------

RISKY = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1", "\r=1"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
# Every export of the app, how to ask it for every row, and a number it must hold as a number.
EXPORTS = {"norms.shortfalls_workbook": ("/norms/shortfalls.xlsx?all=1", 1005),
           "stocktakes.count_sheet_xlsx": ("/stocktakes/{stocktake}/count-sheet.xlsx", 6),
           "stocktakes.variance_sheet_xlsx": ("/stocktakes/{stocktake}/variance-sheet.xlsx?all=1", 1005),
           "imports.template": ("/imports/templates/opening_stock.xlsx?filled=1", 1005)}


def _text(value):
    """A cell's text as a spreadsheet shows it: openpyxl leaves OOXML escapes such as _x000D_."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda match: chr(int(match[1], 16)), value)


def _cells(data: bytes) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    rows = [tuple(row) for sheet in book for row in sheet.iter_rows()]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [archive.read(name) for name in archive.namelist()
                  if name.startswith("xl/worksheets/sheet")]
    assert sheets and not any(b"<f>" in sheet or b"<f " in sheet for sheet in sheets), "no formulas"
    return rows


def test_every_export_keeps_formula_text_inert_and_numbers_numeric(app, client, login, make_user,
                                                                     county, catalog):
    from inventory.auth.access import COMMAND_LINE
    from inventory.norms.models import Norm
    from inventory.norms.services import create_norm
    from inventory.sites.services import update_site
    from inventory.stock.models import StockItem
    from inventory.stock.services import receive
    from inventory.stocktakes.models import quarter_of
    from inventory.stocktakes.services import open_stocktake

    exports = {rule.endpoint for rule in app.url_map.iter_rules()
               if rule.rule.endswith((".xlsx", ".csv", ".xls", ".ods"))}
    assert exports == set(EXPORTS), "a new export needs an entry in EXPORTS"
    with app.app_context():
        update_site(actor=COMMAND_LINE, code="GT-NH", changes={"name": "@SUM(1)"})
        # Each norm asks other materials, so each is a row of its own (norms asking the same
        # materials share one row, the binding one).
        others = [[], ["TENT"], ["GEN"], ["QUILT"], ["TENT", "GEN"], ["TENT", "QUILT"]]
        for number, text in enumerate(RISKY):
            norm = create_norm(actor=COMMAND_LINE, data={
                "name": f"定额{number}", "site_kind": "town_store",
                "materials": ["WATER", *others[number]], "min_quantity": 1000 + number})
            # The services strip leading whitespace; an import or old data might not have.
            db.session.execute(sa.update(Norm).where(Norm.id == norm.id).values(name=text))
            # A stocktake's lines carry it as a lot (the 6th line expects 1005, counts nothing).
            receive(actor=COMMAND_LINE, data={"site": "GT-NH", "material": "WATER",
                                              "quantity": 1000 + number, "lot": f"L{number}"})
            db.session.execute(sa.update(StockItem).where(StockItem.lot == f"L{number}").values(lot=text))
        db.session.commit()
        stocktake = open_stocktake(actor=COMMAND_LINE, data={"site": "GT-NH",
                                                              "period": quarter_of(clock.today())}).id
    login(make_user("manager"))
    for endpoint, (path, number) in EXPORTS.items():
        response = client.get(path.format(stocktake=stocktake))
        assert response.status_code == 200, endpoint
        rows = _cells(response.data)
        strings = [_text(cell.value) for row in rows[1:] for cell in row
                   if isinstance(cell.value, str)]
        assert not [s for s in strings if s.startswith(FORMULA_STARTS)], endpoint
        for text in [*RISKY, "@SUM(1)"]:
            assert "'" + text in strings, (endpoint, text)
        numbers = [cell for row in rows[1:] for cell in row if isinstance(cell.value, int)]
        assert numbers and all(cell.data_type == "n" for cell in numbers), "numbers stay numbers"
        assert any(cell.value == number for cell in numbers), endpoint


@pytest.mark.parametrize("value", [*RISKY, "\0=1", "=1+1", "-5"])
def test_risky_text_gets_an_apostrophe(value):
    assert neutralised(value) == "'" + value


@pytest.mark.parametrize("value", [-5, 0, 3.5, None, "棉帐篷", "a=b", " =1", "'quoted"])
def test_numbers_and_harmless_text_are_left_alone(value):
    assert neutralised(value) == value
