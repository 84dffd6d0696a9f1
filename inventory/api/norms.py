"""Norms and shortfalls (API.md, Norms and alerts)."""

import sqlalchemy as sa
from flask import g, jsonify

from inventory.api.core import MAX_ID, api, flag_arg, json_body, paginated, site_arg
from inventory.auth.access import authorize
from inventory.errors import NotFound
from inventory.norms import queries, services
from inventory.norms.models import Norm


def _existing_id(norm_id: int) -> int:
    """The id, or NotFound when it lies past what the column can hold.

    Checked here, not by the route converter: a converter that refuses a value makes Werkzeug
    answer 405 to PATCH and DELETE of that path instead of 404.
    """
    if norm_id > MAX_ID:
        raise NotFound()
    return norm_id


@api.get("/norms")
def list_norms():
    """Every norm, by site kind and name."""
    query = sa.select(Norm).order_by(Norm.site_kind, Norm.name, Norm.id)
    return jsonify(paginated(query, services.norm_snapshot))


@api.post("/norms")
def create_norm():
    """Add a norm (managers)."""
    return jsonify(services.norm_snapshot(services.create_norm(actor=g.api_user,
                                                               data=json_body()))), 201


@api.get("/norms/<int:norm_id>")
def get_norm(norm_id):
    """One norm."""
    return jsonify(services.norm_snapshot(services.get_norm(_existing_id(norm_id))))


@api.patch("/norms/<int:norm_id>")
def update_norm(norm_id):
    """Change some fields of a norm (managers)."""
    norm = services.update_norm(actor=g.api_user, norm_id=_existing_id(norm_id), changes=json_body())
    return jsonify(services.norm_snapshot(norm))


@api.delete("/norms/<int:norm_id>")
def delete_norm(norm_id):
    """Remove a norm (managers)."""
    services.delete_norm(actor=g.api_user, norm_id=_existing_id(norm_id))
    return "", 204


@api.get("/shortfalls")
def shortfalls():
    """Sites short of their norms (all rows with ``all=true``), within the caller's scope."""
    site = site_arg()
    if site is not None:
        authorize(g.api_user, "stock.view", site)
    items = queries.shortfalls(g.api_user, site=site,
                               include_sub_sites=flag_arg("include_sub_sites", True),
                               everything=flag_arg("all", False))
    return jsonify(items=items)
