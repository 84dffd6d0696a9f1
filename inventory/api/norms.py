"""Norms and shortfalls (API.md, Norms and alerts)."""

import sqlalchemy as sa
from flask import g

from inventory.api.core import existing_id, flag_arg, json_body, scoped_site
from inventory.api.routes import SITE, Body, Page, flag, route
from inventory.api.shapes import SELF, Int, ListOf, Shape, Str, items_of
from inventory.norms import queries, services
from inventory.norms.models import Norm

# The JSON is the snapshot the audit log keeps too; the shape describes it from the input spec.
NORM = Shape.from_spec(services.NORM, name="Norm", dump=services.norm_snapshot, extra={"id": Int()})
NORM_INPUT = Body(services.NORM, name="NormInput")
SHORTFALLS = items_of(Shape({
    "site": Str(), "norm": Int(), "name": Str(), "materials": ListOf(Str(SELF)),
    "required": Int(), "usable": Int(), "shortfall": Int(minimum=0),
}, by_key=True), name="Shortfalls")


@route.get("/norms", "储备定额", answers=Page(NORM), errors=(401, 422))
def list_norms():
    """Every norm, by site kind and name."""
    return sa.select(Norm).order_by(Norm.site_kind, Norm.name, Norm.id)


@route.post("/norms", "新增定额", body=NORM_INPUT, answers=NORM, status=201,
            errors=(400, 401, 403, 422))
def create_norm():
    """Add a norm (managers)."""
    return services.create_norm(actor=g.api_user, data=json_body())


@route.get("/norms/<int:norm_id>", "一条定额", answers=NORM, errors=(401, 404))
def get_norm(norm_id):
    """One norm."""
    return services.get_norm(existing_id(norm_id))


@route.patch("/norms/<int:norm_id>", "修改定额", body=NORM_INPUT.changes(), answers=NORM,
             errors=(400, 401, 403, 404, 422))
def update_norm(norm_id):
    """Change some fields of a norm (managers)."""
    return services.update_norm(actor=g.api_user, norm_id=existing_id(norm_id), changes=json_body())


@route.delete("/norms/<int:norm_id>", "删除定额", errors=(401, 403, 404))
def delete_norm(norm_id):
    """Remove a norm (managers)."""
    services.delete_norm(actor=g.api_user, norm_id=existing_id(norm_id))


@route.get("/shortfalls", "对照储备定额的短缺（默认只列短缺行）",
           query=(SITE, flag("include_sub_sites", "含下级站点"), flag("all", "列出全部行")),
           answers=SHORTFALLS, errors=(401, 403, 422))
def shortfalls():
    """Sites short of their norms (all rows with ``all=true``), within the caller's scope."""
    return queries.shortfalls(g.api_user, site=scoped_site(),
                              include_sub_sites=flag_arg("include_sub_sites", True),
                              everything=flag_arg("all", False))
