"""What every answer gets at the edge: NUL refused before any page sees it, security headers."""

from flask import Flask, g, request
from flask_babel import gettext as _

from inventory.errors import NotFound, ValidationError


def refuse_nul() -> None:
    """A NUL in the path, a query parameter or a form field is bad input, refused before any lookup.

    PostgreSQL text cannot hold NUL (it raises, which would be a 500), so no code, label or
    number has one: a path with one names nothing (404), a parameter with one is malformed (422).
    """
    if "\x00" in request.path:
        raise NotFound()
    # A multipart part can come with no name or no value at all (None), not only an empty one.
    bad = {name or "" for values in (request.args, request.form)
           for name, value in values.items(multi=True) if "\x00" in (name or "") + (value or "")}
    if bad:
        raise ValidationError({name.replace("\x00", "") or "?": _("含有不允许的控制字符")
                               for name in sorted(bad)})


# The routes that take a file larger than MAX_CONTENT_LENGTH allows, each with its own limit
# (an import's spreadsheet); whatever reads the form first (the CSRF check) then reads it whole.
UPLOAD_LIMITS: dict[str, int] = {}
MULTIPART_OVERHEAD = 64 * 1024  # the form's own fields and boundaries around the file


def raise_upload_limit() -> None:
    """Registered before the CSRF check, which reads the form: a route's own limit, if it has one."""
    if (limit := UPLOAD_LIMITS.get(request.endpoint)) is not None:
        request.max_content_length = limit + MULTIPART_OVERHEAD


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
