"""The installable app for keepers (三断): the offline shell, the service worker that keeps it
and everything it needs in the phone's cache, and the web manifest.

The shell holds no user's data and no CSRF token: whoever opens it sees an empty form until
the phone's own IndexedDB (its device token, snapshot and outbox) fills it in. So it is served
to anyone, signed in or not — after 72 hours offline the session may be long gone, and the
shell must still open. Signed-in pages and the API are never cached by the worker.
"""

import hashlib
from pathlib import Path

from flask import Blueprint, Response, current_app, g, render_template, url_for

from inventory.stock.models import SOURCE_NAMES

blueprint = Blueprint("shell", __name__)

# The shell's scripts, in the order they run; the worker precaches them with every other file
# the shell loads — the scanner's decoder (1.1 MB of wasm) included, so the camera reads labels
# with no network — and nothing else.
SCRIPTS = ("vendor/idb/umd.js", "js/offline-store.js", "js/offline-sync.js",
           "vendor/barcode-detector/ponyfill.js", "js/scanner.js", "js/offline-app.js")
STATIC_FILES = (*SCRIPTS, "css/app.css", "vendor/barcode-detector/zxing_reader.wasm", "img/icon.svg",
                "img/icon-192.png", "img/icon-512.png")
SHELL_TEMPLATE = "offline/app.html"
SHELL_PARTS = (SHELL_TEMPLATE, "labels/_camera_messages.html", "offline/sw.js")


def _version() -> str:
    """The precache list's version: a digest of every precached file and of the shell and worker
    templates, so that any change installs a new worker (and only a change does)."""
    if (version := current_app.extensions.get("offline_version")) is None:
        digest = hashlib.sha256()
        static = Path(current_app.static_folder)
        templates = Path(current_app.root_path).parent / "templates"
        for path in [*(static / name for name in STATIC_FILES), *(templates / name for name in SHELL_PARTS)]:
            digest.update(path.read_bytes())
        version = current_app.extensions["offline_version"] = digest.hexdigest()[:16]
    return version


def precached() -> list[str]:
    """The URLs the worker keeps: the shell, the manifest and the shell's files."""
    return [url_for("shell.app"), url_for("shell.manifest"),
            *(url_for("static", filename=name) for name in STATIC_FILES)]


@blueprint.get("/offline/app")
def app():
    """离线工作: the keeper's offline pages (issue or lend, take back, receive, count; the outbox)."""
    g.camera = True  # the page scans (security.py: the camera and the QR decoder's WebAssembly)
    return render_template(SHELL_TEMPLATE, version=_version(), scripts=SCRIPTS, sources=SOURCE_NAMES)


@blueprint.get("/sw.js")
def service_worker():
    """The service worker, at the root so that it may serve /offline/app; never cached by the
    browser's HTTP cache, so a new version is seen at the next visit."""
    script = render_template("offline/sw.js", version=_version(), precached=precached())
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/manifest.webmanifest")
def manifest():
    """The web manifest: installed to the home screen (添加到主屏幕), the app opens offline."""
    response = current_app.response_class(render_template("offline/manifest.webmanifest"),
                                          mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response
