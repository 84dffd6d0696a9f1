"""The installable app's files: the shell holds nobody's data, the worker keeps a versioned list
of files that exist (and nothing signed-in), the manifest names icons that exist."""

import json
import re

from tests.factories import page_client


def test_the_shell_is_the_same_for_everyone_and_holds_no_data_or_token(app, client, keeper, make_user):
    anonymous = client.get("/offline/app")
    assert anonymous.status_code == 200
    signed_in = page_client(app, "xb").get("/offline/app")
    assert signed_in.get_data() == anonymous.get_data()
    html = anonymous.get_data(as_text=True)
    assert "csrf" not in html.lower() and "xb" not in html and "新坝" not in html
    assert anonymous.headers["Cache-Control"] == "no-store"  # the worker keeps it, not the HTTP cache


def test_the_worker_keeps_a_versioned_list_of_files_that_exist_and_nothing_else(app, client):
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"
    script = worker.get_data(as_text=True)
    [version] = re.findall(r'const CACHE = "offline-([0-9a-f]{16})"', script)
    kept = json.loads(re.search(r"const PRECACHED = (\[.*?\]);", script)[1])
    assert "/offline/app" in kept and "/manifest.webmanifest" in kept
    assert all(path.startswith(("/static/", "/offline/app", "/manifest")) for path in kept), kept
    for path in kept:
        with client.get(path) as response:
            assert response.status_code == 200, path
    assert f'data-version="{version}"' in client.get("/offline/app").get_data(as_text=True)
    # Writes and the API are never answered by the worker.
    assert 'request.method !== "GET"' in script and "/api/" not in "".join(kept)


def test_the_manifest_names_icons_that_exist_and_opens_the_shell(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["start_url"] == "/offline/app" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as answer:
            assert answer.status_code == 200


def test_a_page_registers_its_phone_only_with_a_name(app, keeper, make_user):
    pages = page_client(app, "xb")
    made = pages.post("/offline/devices/new", data={"name": "仓库手机"})
    assert made.status_code == 201
    device = made.json
    assert device["name"] == "仓库手机" and device["sites"] == ["GT-XB"] and device["user"] == "xb"
    assert pages.application.test_client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {device['token']}"}).json["username"] == "xb"
    refused = pages.post("/offline/devices/new", data={"name": ""})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "validation_error"
    assert app.test_client().post("/offline/devices/new", data={"name": "x"}).status_code == 302  # to log in
