"""Sites: GET/POST /sites, GET/PATCH/DELETE /sites/{code}."""

from flask import g, request
from flask_babel import gettext as _

from inventory.api.core import json_body
from inventory.api.routes import SEARCH, Body, Page, choice, query, route
from inventory.api.shapes import Int, Shape
from inventory.auth.access import authorize
from inventory.errors import NotFound, ValidationError
from inventory.sites import services
from inventory.sites.models import KINDS
from inventory.sites.queries import visible_sites
from inventory.validation import String, listing

# The JSON is the snapshot the audit log keeps too; the shape describes it from the input spec.
SITE = Shape.from_spec(services.SITE, name="Site", dump=services.site_snapshot, extra={
    "planning_population": Int(minimum=0, description="填写的保障人口，或按站点类型推算"),
    "stated_planning_population": Int(nullable=True),
})
SITE_INPUT = Body(services.SITE, name="SiteInput")
SITE_CODE = {"code": String(max_length=32, description="站点编码")}


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


@route.get("/sites", "站点列表（限于调用者的站点范围）",
           query=(choice("kind", "站点类型", KINDS), query("parent", "上级站点编码"), SEARCH),
           answers=Page(SITE), errors=(401, 422))
def list_sites():
    """Sites the caller may see (their scope), filtered by kind, parent and a search text."""
    return visible_sites(g.api_user, **_filters())


@route.post("/sites", "新建站点", body=SITE_INPUT, answers=SITE, status=201,
            errors=(400, 401, 403, 409, 422))
def create_site():
    """Create a site."""
    return services.create_site(actor=g.api_user, data=json_body())


@route.get("/sites/<code>", "一个站点", params=SITE_CODE, answers=SITE, errors=(401, 403, 404))
def get_site(code):
    """One site."""
    site = services.get_site(code)
    authorize(g.api_user, "sites.view", site)
    return site


@route.patch("/sites/<code>", "修改站点（协议整体替换）", params=SITE_CODE, body=SITE_INPUT.changes(),
             answers=SITE, errors=(400, 401, 403, 404, 409, 422))
def update_site(code):
    """Change some fields of a site; an agreement given is replaced whole."""
    return services.update_site(actor=g.api_user, code=code, changes=json_body())


@route.delete("/sites/<code>", "删除无业务记录的站点（否则 409，请停用）", params=SITE_CODE,
              errors=(401, 403, 404, 409))
def delete_site(code):
    """Delete a site nothing refers to (otherwise 409: deactivate it instead)."""
    services.delete_site(actor=g.api_user, code=code)
