"""Labels for every box: a receipt offers copies per item (one per unit for a lot of countable
boxes, up to LABEL_COPIES_LIMIT), an A4 sheet may start at any cell, bad numbers get a clear
message, and each PDF's file name says what it holds (issue 15)."""

from types import SimpleNamespace
from urllib.parse import quote

import pytest
from werkzeug.http import parse_options_header

from inventory.labels import pdf, services, views
from tests.factories import make_material, receive
from tests.labels.sheets import cells_holding

LIMIT = 200


def material(tracking="lot", unit="箱"):
    return SimpleNamespace(tracking=tracking, unit=unit)


# --- the default copies rule, without HTTP -----------------------------------------------------

@pytest.mark.parametrize(("what", "received", "copies"), [
    (material(), 50, 50),                      # 50 boxes of water: a label for each
    (material(), 1, 1),
    (material(), LIMIT, LIMIT),                # as many as the limit allows
    (material(), LIMIT + 1, 1),                # more than that: one, and the form says so
    (material(unit="顶"), 20, 20),
    (material(tracking="serial", unit="台"), 1, 1),
    (material(unit="公斤"), 100, 1),           # a lot weighed, not counted
    (material(unit="升"), 600, 1),
    (material(unit="KG"), 30, 1),
])
def test_a_receipt_item_gets_one_label_per_countable_unit_up_to_the_limit(what, received, copies):
    assert services.default_copies(what, received, LIMIT) == copies


# --- where labels fall on the sheet --------------------------------------------------------------

def sheet(count, start, layout="a4", code="ABCD-EFGH-JKMN-PQRS"):
    text = pdf.LabelText(payload="http://localhost/s/ABCDEFGHJKMNPQRS", name="瓶装饮用水",
                         details=("批号 ZP-2026-01", "新坝镇物资储备室"), code=code)
    return cells_holding(pdf.render([text] * count, layout, start), code, layout)


def test_fifty_labels_from_cell_seven_fill_eighteen_then_a_sheet_then_eight():
    pages = sheet(50, 7)
    assert [len(cells) for cells in pages] == [18, 24, 8]
    assert pages == [list(range(7, 25)), list(range(1, 25)), list(range(1, 9))]


@pytest.mark.parametrize(("count", "start", "per_page"), [
    (1, 24, [1]), (2, 24, [1, 1]), (24, 1, [24]), (25, 1, [24, 1]), (3, 22, [3]), (4, 22, [3, 1])])
def test_the_first_label_goes_to_the_start_cell_and_later_sheets_start_at_the_top(count, start,
                                                                                  per_page):
    pages = sheet(count, start)
    assert [len(cells) for cells in pages] == per_page
    assert pages[0][0] == start and all(cells[0] == 1 for cells in pages[1:])


@pytest.mark.parametrize(("layout", "start"), [("a4", 0), ("a4", 25), ("thermal", 2)])
def test_render_refuses_a_start_cell_off_the_sheet(layout, start):
    with pytest.raises(ValueError):
        pdf.render([], layout, start)


# --- the receipt page's print form ---------------------------------------------------------------

def print_form(client, number):
    page = client.get(f"/stock/receipts/{number}").get_data(as_text=True)
    start = page.rindex("<form", 0, page.index("data-receipt-labels"))
    return page[start:page.index("</form>", start)]


def test_the_print_form_of_fifty_boxes_is_filled_in_with_fifty_from_cell_one(client, login, keeper):
    receipt = receive(keeper, quantity=50, lot="ZP-2026-01")
    login("xb")
    form = print_form(client, receipt["number"])
    assert f'action="/labels/receipt/{receipt["number"]}.pdf"' in form
    assert 'name="copies" value="50"' in form and "每箱一张，共 50 箱" in form
    assert 'name="start" value="1"' in form and "1–24" in form
    assert 'name="format" value="a4"' in form and 'name="format" value="thermal"' in form


def test_above_the_limit_the_form_offers_one_label_and_says_why(app, client, login, keeper):
    app.config["LABEL_COPIES_LIMIT"] = 30
    receipt = receive(keeper, quantity=31)
    login("xb")
    form = print_form(client, receipt["number"])
    assert 'name="copies" value="1"' in form
    assert "共 31 箱，超过每次 30 张的上限，默认印 1 张" in form


def test_serial_items_get_one_label_each_and_a_lot_weighed_in_kilograms_one(app, client, login, keeper):
    serial = receive(keeper, material="GEN", quantity=3, serials=["SN-1", "SN-2", "SN-3"])
    make_material(app, "WIRE", "铅丝", unit="公斤")
    weighed = receive(keeper, material="WIRE", quantity=80)
    login("xb")
    form = print_form(client, serial["number"])
    assert 'name="copies" value="1"' in form and "每件张数" in form and "共 3 件" in form
    form = print_form(client, weighed["number"])
    assert 'name="copies" value="1"' in form and "按公斤计量" in form


# --- the receipt's PDF -------------------------------------------------------------------------

def receipt_pdf(client, number, query=""):
    response = client.get(f"/labels/receipt/{number}.pdf{query}")
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.status
    return response


def codes(receipt):
    return [views.format_label(item["label"]) for item in receipt["items"]]


def test_a_receipt_prints_its_default_copies_unless_a_number_is_typed(client, login, keeper):
    receipt = receive(keeper, quantity=5, lot="L-1")
    [code] = codes(receipt)
    login("xb")
    assert cells_holding(receipt_pdf(client, receipt["number"]).data, code) == [[1, 2, 3, 4, 5]]
    typed = receipt_pdf(client, receipt["number"], "?copies=2&start=23").data
    assert cells_holding(typed, code) == [[23, 24]]
    thermal = receipt_pdf(client, receipt["number"], "?format=thermal&start=99").data
    assert cells_holding(thermal, code, "thermal") == [[1]] * 5  # start means nothing on a roll


def test_a_typed_number_of_copies_is_for_each_item_of_the_receipt(client, login, keeper):
    receipt = receive(keeper, material="GEN", quantity=3, serials=["SN-1", "SN-2", "SN-3"])
    login("xb")
    document = receipt_pdf(client, receipt["number"], "?copies=2&start=7").data
    assert [cells_holding(document, code) for code in codes(receipt)] == [
        [[7, 8]], [[9, 10]], [[11, 12]]]


@pytest.mark.parametrize(("query", "message"), [
    ("?start=0", "起始格须为 1 到 24 之间的整数"),
    ("?start=25", "起始格须为 1 到 24 之间的整数"),
    ("?start=七", "起始格须为 1 到 24 之间的整数"),
    ("?start=-1", "起始格须为 1 到 24 之间的整数"),
    ("?start=7.5", "起始格须为 1 到 24 之间的整数"),
    ("?copies=0", "标签张数须为 1 到 200 之间的整数"),
    ("?copies=201", "标签张数须为 1 到 200 之间的整数"),
    ("?copies=abc", "标签张数须为 1 到 200 之间的整数"),
    ("?copies=1e3", "标签张数须为 1 到 200 之间的整数"),
    ("?copies=99999999999999999999999", "标签张数须为 1 到 200 之间的整数"),
    ("?copies=" + "9" * 5000, "标签张数须为 1 到 200 之间的整数"),
])
def test_a_bad_start_cell_or_number_of_copies_is_refused_with_a_message(client, login, keeper, query,
                                                                        message):
    receipt = receive(keeper, quantity=5)
    login("xb")
    response = client.get(f"/labels/receipt/{receipt['number']}.pdf{query}")
    assert response.status_code == 422 and message in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/labels/items.pdf?site=GT-XB&start=30", "/labels/site/GT-XB.pdf?start=x"])
def test_every_label_sheet_refuses_a_start_cell_off_the_sheet(client, login, keeper, path):
    receive(keeper, quantity=5)
    login("xb")
    response = client.get(path)
    assert response.status_code == 422 and "起始格须为 1 到 24 之间的整数" in response.get_data(as_text=True)


def test_full_width_digits_from_a_chinese_keyboard_count(client, login, keeper):
    receipt = receive(keeper, quantity=5)
    login("xb")
    [code] = codes(receipt)
    assert cells_holding(receipt_pdf(client, receipt["number"], "?copies=２&start=７").data, code) == [[7, 8]]


def test_too_many_labels_at_once_are_refused_but_one_item_at_the_limit_always_prints(
        app, client, login, keeper, monkeypatch):
    monkeypatch.setattr(views, "MAX_LABELS", 4)
    app.config["LABEL_COPIES_LIMIT"] = 6
    serial = receive(keeper, material="GEN", quantity=2, serials=["SN-1", "SN-2"])
    lot = receive(keeper, quantity=6)
    login("xb")
    response = client.get(f"/labels/receipt/{serial['number']}.pdf?copies=4")
    assert response.status_code == 422 and "一次最多打印 6 张标签" in response.get_data(as_text=True)
    [code] = codes(lot)
    assert [len(cells) for cells in cells_holding(receipt_pdf(client, lot["number"]).data, code)] == [6]


# --- file names --------------------------------------------------------------------------------

def file_names(response) -> tuple[str, str]:
    """The ASCII file name and the RFC 5987 one of an answer, as a browser reads them."""
    header = response.headers["Content-Disposition"]
    header.encode("latin-1")  # a header must be
    disposition, options = parse_options_header(header)
    assert disposition == "inline"
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    return fallback, options["filename"]


def test_a_receipts_pdf_is_named_for_its_number_material_and_count(client, login, keeper):
    receipt = receive(keeper, quantity=50)
    number = receipt["number"]
    login("xb")
    response = receipt_pdf(client, number, "?start=7")
    assert file_names(response) == (f"labels-{number}-50-a4.pdf", f"标签-{number}-瓶装饮用水-50张-A4.pdf")
    assert f"filename*=UTF-8''{quote(f'标签-{number}-瓶装饮用水-50张-A4.pdf')}" in \
        response.headers["Content-Disposition"]
    thermal = receipt_pdf(client, number, "?format=thermal&copies=3")
    assert file_names(thermal) == (f"labels-{number}-3-thermal.pdf", f"标签-{number}-瓶装饮用水-3张-热敏.pdf")


def test_item_and_site_pdfs_are_named_for_what_they_hold(client, login, keeper):
    receive(keeper, quantity=5, lot="A")
    receive(keeper, quantity=5, lot="B")
    receive(keeper, material="GEN", quantity=1, serials=["SN-1"])
    login("xb")
    everything = client.get("/labels/items.pdf?site=GT-XB")
    assert file_names(everything) == ("labels-GT-XB-3-a4.pdf", "标签-GT-XB-3张-A4.pdf")
    water = client.get("/labels/items.pdf?site=GT-XB&material=WATER&status=available&format=thermal")
    assert file_names(water) == ("labels-GT-XB-WATER-available-2-thermal.pdf",
                                 "标签-GT-XB-瓶装饮用水-在库-2张-热敏.pdf")
    door = client.get("/labels/site/GT-XB.pdf")
    fallback, name = file_names(door)
    assert fallback == "labels-site-GT-XB-1-a4.pdf"
    assert name.startswith("标签-门牌二维码-GT-XB-") and name.endswith("-1张-A4.pdf")


def test_a_file_name_never_holds_a_slash_or_a_space(app, client, login, keeper):
    make_material(app, "SPEC", 'MZ/T 帐篷 "加厚" a:b')
    receipt = receive(keeper, material="SPEC", quantity=2)
    login("xb")
    fallback, name = file_names(receipt_pdf(client, receipt["number"]))
    assert name == f"标签-{receipt['number']}-MZ_T_帐篷_加厚_a_b-2张-A4.pdf"
    assert fallback == f"labels-{receipt['number']}-2-a4.pdf"
