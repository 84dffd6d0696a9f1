"""QR codes decode to exactly the scan URL; label sheets lay out and decode; scanning a label
goes through login and back, and reveals nothing to the wrong people (QUALITY.md S13)."""

import io

import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from tests.factories import PASSWORD, make_material, masked, receive


def decode(image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_the_api_qr_images_say_the_scan_url(app, keeper):
    [item] = receive(keeper, quantity=3)["items"]
    url = f"{app.config['PUBLIC_BASE_URL']}/s/{item['label']}"
    png = keeper.get(f"/stock/{item['label']}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert decode(Image.open(io.BytesIO(png.data))) == [url]
    svg = keeper.get(f"/stock/{item['label']}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert keeper.get(f"/stock/{item['label']}").json["scan_url"] == url
    assert url.isascii()


def test_a_label_sheet_of_fifty_has_three_pages_and_every_code_reads(app, client, login, keeper):
    items = receive(keeper, material="GEN", quantity=50,
                    serials=[f"SN-{n:03d}" for n in range(50)])["items"]
    login("xb")
    response = client.get("/labels/items.pdf?site=GT-XB&material=GEN")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    document = pypdfium2.PdfDocument(response.data)
    assert len(document) == 3
    seen = set()
    for page in document:
        seen.update(decode(page.render(scale=200 / 72).to_pil()))
    base = app.config["PUBLIC_BASE_URL"]
    assert seen == {f"{base}/s/{item['label']}" for item in items}
    text = document[0].get_textpage().get_text_range()
    assert "汽油发电机" in text and "SN-000" in text and "新坝" in text
    document.close()


def test_thermal_labels_and_receipt_labels(app, client, login, keeper):
    receipt = receive(keeper, quantity=5, lot="L-1")
    login("xb")
    response = client.get(f"/labels/receipt/{receipt['number']}.pdf?format=thermal")
    document = pypdfium2.PdfDocument(response.data)
    assert len(document) == 5  # one label for each of the 5 boxes, one label a page
    width, height = document[0].get_size()
    assert round(width / 72 * 25.4) == 50 and round(height / 72 * 25.4) == 30
    [url] = decode(document[0].render(scale=400 / 72).to_pil())
    assert url.endswith(f"/s/{receipt['items'][0]['label']}")
    document.close()


def test_a_long_material_name_wraps_and_is_never_cut(app, client, login, keeper):
    name = "超长名称的救灾专用多功能折叠式野外保温防水帐篷（加厚加大型）"
    make_material(app, "LONG", name)
    receive(keeper, material="LONG", quantity=1)
    login("xb")
    document = pypdfium2.PdfDocument(client.get("/labels/items.pdf?site=GT-XB&material=LONG").data)
    text = document[0].get_textpage().get_text_range().replace("\r", "").replace("\n", "")
    assert name in text
    document.close()


def test_scanning_while_logged_out_goes_to_login_and_back(client, keeper):
    [item] = receive(keeper, quantity=3)["items"]
    response = client.get(f"/s/{item['label']}")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    response = client.post(response.headers["Location"], data={"username": "xb",
                                                               "password": PASSWORD})
    assert response.headers["Location"] == f"/s/{item['label']}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "瓶装饮用水" in page and "发放" in page


def test_a_keeper_of_another_site_learns_nothing_from_a_label(client, login, make_user, keeper):
    [item] = receive(keeper, quantity=3, lot="SECRET-LOT")["items"]
    login(make_user("keeper", sites=["GT-NH"]))
    for path in (f"/s/{item['label']}", f"/labels/qr/{item['label']}.svg",
                 f"/scan/lookup/{item['label']}"):
        response = client.get(path)
        assert response.status_code == 404, path
        body = response.get_data(as_text=True)
        assert "SECRET-LOT" not in body and "瓶装饮用水" not in body
    unknown = client.get("/s/ZZZZZZZZZZZZZZZZ")
    assert unknown.status_code == 404
    # Compared with what changes at every render (the logout form's CSRF token) masked.
    assert masked(unknown.get_data(as_text=True)).replace("ZZZZZZZZZZZZZZZZ", item["label"]) == \
        masked(client.get(f"/s/{item['label']}").get_data(as_text=True)), "foreign looks like unknown"
    assert client.get("/labels/items.pdf?site=GT-XB").status_code == 403
    assert client.get("/s/site/GT-XB").status_code == 404


def test_a_typed_label_opens_its_item(client, login, keeper):
    [item] = receive(keeper, quantity=3)["items"]
    login("xb")
    typed = f"{item['label'][:4]}-{item['label'][4:8]}-{item['label'][8:]}".lower()
    response = client.get(f"/s/{typed}")
    assert response.status_code == 302 and response.headers["Location"] == f"/s/{item['label']}"


def test_disposed_labels_say_so_and_offer_nothing(client, login, keeper, manager):
    [item] = receive(keeper, material="GEN", quantity=1, serials=["SN-X"])["items"]
    manager.post("/adjustments", {"label": item["label"], "delta": -1, "reason": "disposal"})
    login("xb")
    page = client.get(f"/s/{item['label']}").get_data(as_text=True)
    actions = page[page.index('class="bigbuttons"'):page.index("</nav>", page.index("bigbuttons"))]
    assert "已处置" in page
    assert "出借" not in actions and "调拨" not in actions and "调整" not in actions


def test_the_scanner_pages_may_use_the_camera_and_others_may_not(client, login, keeper):
    login("xb")
    scanner = client.get("/scan")
    assert "camera=(self)" in scanner.headers["Permissions-Policy"]
    assert "'wasm-unsafe-eval'" in scanner.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in scanner.headers["Content-Security-Policy"]
    other = client.get("/stock/")
    assert "camera=()" in other.headers["Permissions-Policy"]
    assert "wasm" not in other.headers["Content-Security-Policy"]
    wasm = client.get("/static/vendor/barcode-detector/zxing_reader.wasm")
    assert wasm.status_code == 200 and wasm.mimetype == "application/wasm"
    wasm.close()


@pytest.mark.parametrize("path", ["/labels/", "/labels/site/GT-XB.pdf"])
def test_label_pages_render(client, login, keeper, path):
    login("xb")
    assert client.get(path).status_code == 200
