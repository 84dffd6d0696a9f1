"""Printed documents (issue 15): 发放单, 归还单, 调拨单 and 入库单, printed to PDF by real Chromium,
each fit one A4 page and carry the issuing unit's head, the site, the number, the date, the
keeper's name (not the login), the signer's line and both copies; a damaged return shows the
label its damaged goods need, with a print button that answers the label sheet."""

import html
import re

import pypdfium2
import pytest

from inventory.auth.access import COMMAND_LINE
from inventory.labels.codes import format_label
from tests.factories import PASSWORD, Api, form_key, in_days, issue, page_client, receive, token_for

KEEPER_LOGIN = "kpr7301"
KEEPER_NAME = "李春梅"
# Ten lines: what the slips must fit on one A4 page, in two copies.
LINES = 10


CUT = "沿此线裁开"


def _words(text: str) -> str:
    return "".join(text.split())  # a table cell may break a word over two lines


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF, without white space."""
    document = pypdfium2.PdfDocument(data)
    try:
        return [_words(page.get_textpage().get_text_range()) for page in document]
    finally:
        document.close()


def pdf_copies(data: bytes) -> tuple[str, str]:
    """The text above and below the cut line of a one-page PDF (the text comes in drawing
    order, not reading order, so the page is cut where the line is drawn)."""
    document = pypdfium2.PdfDocument(data)
    try:
        page = document[0]
        text = page.get_textpage()
        found = text.search(CUT).get_next()
        assert found, "a cut line between the copies"
        _left, bottom, _right, top = text.get_charbox(found[0])
        width, height = page.get_size()
        return (_words(text.get_text_bounded(0, top, width, height)),
                _words(text.get_text_bounded(0, 0, width, bottom)))
    finally:
        document.close()


@pytest.fixture
def named_keeper(app, county, catalog):
    """The 新坝镇 keeper, whose real name (not the login) the documents must print."""
    from inventory.auth.services import create_user

    with app.app_context():
        create_user(username=KEEPER_LOGIN, role="keeper", password=PASSWORD, site_codes=["GT-XB"],
                    display_name=KEEPER_NAME, actor=COMMAND_LINE)
    return Api(app.test_client(), token_for(app, KEEPER_LOGIN))


@pytest.fixture
def documents(app, named_keeper, today) -> dict[str, dict]:
    """One document of each kind, of ten lines where the kind has lines, made by the keeper."""
    api = named_keeper
    generators = receive(api, material="GEN", quantity=LINES,
                         serials=[f"GEN-{n:03d}" for n in range(LINES)])
    [tent] = receive(api, material="TENT", quantity=6, lot="ZP-01")["items"]
    lent = issue(api, [{"label": g["label"], "quantity": 1} for g in generators["items"][:LINES - 1]]
                 + [{"label": tent["label"], "quantity": 6, "due_back": in_days(today, 10)}],
                 recipient={"type": "unit", "name": "和平村村委会"})
    lines = {line["label"]: line["id"] for line in lent["lines"]}
    back = api.post("/returns", {"issue": lent["number"], "lines": [
        {"issue_line": lines[tent["label"]], "quantity": 2, "condition": "damaged"},
        {"issue_line": lines[tent["label"]], "quantity": 3, "condition": "good"},
        {"issue_line": lines[generators["items"][0]["label"]], "quantity": 1, "condition": "good"}]})
    assert back.status_code == 201, back.json
    waters = [receive(api, material="WATER", quantity=5, lot=f"W-{n:02d}")["items"][0]
              for n in range(LINES)]
    moved = api.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH", "lines": [
        {"label": water["label"], "quantity": 2} for water in waters]})
    assert moved.status_code == 201, moved.json
    return {
        "issue": {"path": f"/stock/issues/{lent['number']}", "number": lent["number"],
                  "signer": "领用人签字", "copies": ("第一联留存联", "第二联领取联")},
        "return": {"path": f"/stock/returns/{back.json['number']}", "number": back.json["number"],
                   "signer": "归还人签字", "copies": ("第一联留存联", "第二联归还人联")},
        "transfer": {"path": f"/stock/transfers/{moved.json['number']}", "number": moved.json["number"],
                     "signer": "收货人签字", "copies": ("第一联调出联", "第二联调入联")},
        "receipt": {"path": f"/stock/receipts/{generators['number']}", "number": generators["number"],
                    "signer": "送货人签字", "copies": ("第一联存根联", "第二联记账联")},
    }


@pytest.mark.browser
@pytest.mark.parametrize("kind", ["issue", "return", "transfer", "receipt"])
def test_a_printed_document_fits_one_a4_page_with_its_head_names_and_both_copies(
        app, live_server, page, documents, today, kind):
    document = documents[kind]
    page.goto(f"{live_server}/login")
    page.fill("#username", KEEPER_LOGIN)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server}{document['path']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing overflows a phone"
    assert not page.locator(".document.copy-2").is_visible(), "the screen shows one copy"

    printed = page.pdf(format="A4", print_background=True)

    pages = pdf_pages(printed)
    assert len(pages) == 1, f"{kind}: {len(pages)} pages"
    [text] = pages
    for copy, name in zip(pdf_copies(printed), document["copies"], strict=True):
        assert name in copy
        for words in (app.config["ORGANIZATION_NAME"], "新坝镇储备室", document["number"],
                      today.isoformat(), KEEPER_NAME, document["signer"]):
            assert words in copy, f"{kind} {name}: {words} missing"
    assert KEEPER_LOGIN not in text, "the keeper is named, not the login"
    assert "应急物资" not in text, "the top bar (brand and menus) is not printed"


def test_a_damaged_return_shows_the_new_label_and_its_print_button_answers_a_pdf(
        app, named_keeper, today):
    [tent] = receive(named_keeper, material="TENT", quantity=5, lot="ZP-01")["items"]
    lent = issue(named_keeper, [{"label": tent["label"], "quantity": 4}])
    client = page_client(app, KEEPER_LOGIN)
    form_path = f"/stock/issues/{lent['number']}/return"
    form = client.get(form_path).get_data(as_text=True)
    response = client.post(form_path, data={
        "idempotency_key": form_key(form), "lines-0-issue_line": str(lent["lines"][0]["id"]),
        "lines-0-quantity": "3", "lines-0-condition": "damaged"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert re.fullmatch(r"/stock/returns/GH-\d{4}-\d{6}", location), "the return's own slip"

    slip = client.get(location).get_data(as_text=True)
    damaged = named_keeper.get(f"/returns/{location.rsplit('/', 1)[1]}").json["lines"][0]["label"]
    assert damaged != tent["label"], "the damaged tents went into an item of their own"
    assert "已登记归还" in slip and "损坏物资已另立库存件" in slip
    assert format_label(damaged) in slip and f'href="/stock/item/{damaged}"' in slip
    button = re.search(r'<a class="button primary" href="([^"]+)"[^>]*>打印损坏件标签</a>', slip)
    assert button, "a print button beside the new label"
    assert "未还 1" in slip, "what is still out once the return was made"

    labels = client.get(html.unescape(button[1]))
    assert labels.status_code == 200 and labels.mimetype == "application/pdf"
    [sheet] = pdf_pages(labels.data)
    assert format_label(damaged).replace(" ", "") in sheet and format_label(tent["label"]) not in sheet

    issue_slip = client.get(f"/stock/issues/{lent['number']}").get_data(as_text=True)
    assert f'href="{location}"' in issue_slip, "the issue slip links its returns"


def test_a_keeper_of_another_town_cannot_open_a_return(app, named_keeper, make_user):
    [tent] = receive(named_keeper, material="TENT", quantity=2)["items"]
    lent = issue(named_keeper, [{"label": tent["label"], "quantity": 2}])
    back = named_keeper.post("/returns", {"issue": lent["number"], "lines": [
        {"issue_line": lent["lines"][0]["id"], "quantity": 1, "condition": "good"}]}).json
    other = page_client(app, make_user("keeper", sites=["GT-NH"]))
    assert other.get(f"/stock/returns/{back['number']}").status_code == 403
    assert other.get("/stock/returns/GH-2020-999999").status_code == 404


@pytest.mark.parametrize("role", ["admin", "manager", "dispatcher", "keeper", "auditor", "viewer"])
def test_every_document_page_renders_for_every_role_who_may_see_it(app, documents, make_user, role):
    client = page_client(app, make_user(role, sites=["GT-XB"] if role in ("keeper", "auditor") else ()))
    for document in documents.values():
        response = client.get(document["path"])
        assert response.status_code == 200, document["path"]
        assert document["number"] in response.get_data(as_text=True)
