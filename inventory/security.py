"""What every answer gets at the edge: NUL refused before any page sees it, security headers."""

from flask import Flask, g, request

from inventory.validation import refuse_nul


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul_in_pages():
        # The API refuses it too, once the caller is authenticated (api/core.py).
        if not request.path.startswith("/api/"):
            refuse_nul()

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        # Pages that scan may use the camera and compile the QR decoder's WebAssembly; no page
        # runs inline script.
        camera = g.get("camera", False)
        scripts = "'self' 'wasm-unsafe-eval'" if camera else "'self'"
        headers.setdefault("Content-Security-Policy",
                           f"default-src 'self'; script-src {scripts}; style-src 'self'; "
                           "img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; "
                           "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy",
                           f"camera=({'self' if camera else ''}), microphone=(), geolocation=()")
        if app.config["HSTS"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not request.path.startswith("/static/"):
            # Pages hold stock and personal data; shared phones must not keep them in a cache.
            headers.setdefault("Cache-Control", "no-store")
        return response
