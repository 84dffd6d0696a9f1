"""Sites: GET/POST /sites, GET/PATCH/DELETE /sites/{code}."""

from flask import g, jsonify, request
from flask_babel import gettext as _

from inventory.api.core import api, json_body, paginated
from inventory.auth.access import authorize
from inventory.errors import NotFound, ValidationError
from inventory.sites import services
from inventory.sites.models import KINDS
from inventory.sites.queries import visible_sites
from inventory.validation import listing


def _filters() -> dict:
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise ValidationError({"kind": _("应为以下之一：%(choices)s", choices=listing(KINDS))})
    parent = None
    if code := request.args.get("parent"):
        try:
            parent = services.get_site(code)
        except NotFound:
            raise ValidationError({"parent": _("上级站点 %(code)s 不存在", code=code)}) from None
    q = (request.args.get("q") or "").strip()[:100] or None
    return {"kind": kind, "parent": parent, "q": q}


@api.get("/sites")
def list_sites():
    """Sites the caller may see (their scope), filtered by kind, parent and a search text."""
    query = visible_sites(g.api_user, **_filters())
    return jsonify(paginated(query, services.site_snapshot))


@api.post("/sites")
def create_site():
    """Create a site."""
    site = services.create_site(actor=g.api_user, data=json_body())
    return jsonify(services.site_snapshot(site)), 201


@api.get("/sites/<code>")
def get_site(code):
    """One site."""
    site = services.get_site(code)
    authorize(g.api_user, "sites.view", site)
    return jsonify(services.site_snapshot(site))


@api.patch("/sites/<code>")
def update_site(code):
    """Change some fields of a site; an agreement given is replaced whole."""
    site = services.update_site(actor=g.api_user, code=code, changes=json_body())
    return jsonify(services.site_snapshot(site))


@api.delete("/sites/<code>")
def delete_site(code):
    """Delete a site nothing refers to (otherwise 409: deactivate it instead)."""
    services.delete_site(actor=g.api_user, code=code)
    return "", 204
