"""The stock blueprint, and the pick lists and page arguments its pages share."""

import re

import sqlalchemy as sa
from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from inventory.auth.access import authorize, can_somewhere
from inventory.catalog.models import Material
from inventory.db import db
from inventory.dispatch.lookup import get_incident
from inventory.errors import NotFound
from inventory.extensions import label_guessing
from inventory.forms import choices
from inventory.sites.models import Site
from inventory.sites.queries import visible_sites
from inventory.sites.services import get_site
from inventory.stock import services
from inventory.stock.models import StockItem

blueprint = Blueprint("stock", __name__, url_prefix="/stock")


def scanned_item(label: str) -> StockItem:
    """The item behind a label the user may see, for a page: 404 otherwise, whichever the reason,
    and a miss counts towards the label-guessing limit (inventory/guessing.py)."""
    return label_guessing.look_up(current_user, lambda: services.visible_item(current_user, label))


def sites_for(permission: str) -> list:
    """Codes and names of the active sites where the user may do ``permission``, in tree order.

    A permission is held everywhere the user sees or nowhere (auth/access.py), so it is asked
    once; the pick list then needs two columns, not every site as an object checked one by one.
    """
    if not can_somewhere(current_user, permission):
        return []
    return db.session.execute(visible_sites(current_user, include_inactive=False, details=False)
                              .with_only_columns(Site.code, Site.name)).all()


def site_choices(permission: str):
    """The pick list of the sites where the user may do ``permission``."""
    return choices((site.code, f"{site.name}（{site.code}）") for site in sites_for(permission))


def material_names() -> list:
    """Code and "name（unit）" of every active material, by code. Every stock page and form shows
    this list: two columns with the label built by the database, not 80 materials as objects."""
    return db.session.execute(sa.select(Material.code, Material.name + "（" + Material.unit + "）")
                              .where(Material.active.is_(True)).order_by(Material.code)).all()


def material_choices():
    """The pick list of active materials, headed by an empty choice."""
    return choices([("", _("— 选择物资 —")), *material_names()])


def site_arg(name: str = "site") -> Site | None:
    """The site ``?site=`` names, which the user must be allowed to see; None when none is named."""
    if not (code := request.args.get(name)):
        return None
    site = get_site(code)
    authorize(current_user, "stock.view", site)
    return site


def incident_arg():
    """The incident ``?incident=`` names (灾情事件, read by everyone); None when it names none.
    One that does not exist is a 404 page, as a link to it would be."""
    raw = request.args.get("incident", "")
    if not raw:
        return None
    # Digits 0–9 only: str.isdigit() also takes "²", which int() refuses.
    if not re.fullmatch(r"[0-9]{1,10}", raw) or int(raw) > 2**31 - 1:
        raise NotFound(_("灾情事件 %(id)s 不存在", id=raw[:20]))
    return get_incident(int(raw))


def material_arg() -> Material | None:
    """The material ``?material=`` names; None when it names none."""
    code = request.args.get("material")
    return db.session.scalar(sa.select(Material).where(Material.code == code)) if code else None


def home_site() -> Site | None:
    """The site a page opens on: ?site=, else a keeper's first own site."""
    return site_arg() or (current_user.sites[0] if current_user.sites else None)


def line_material_choices():
    """The material pick list of a line form: each returnable material's option says so, so the
    page can ask for a due-back date on that line only."""
    returnable = set(db.session.scalars(sa.select(Material.code).where(
        Material.active.is_(True), Material.returnable.is_(True))))
    return [SelectChoice("", _("— 选择物资 —")),
            *(SelectChoice(code, name, render_kw={"data-returnable": "1"} if code in returnable else {})
              for code, name in material_names())]


def prepare_lines(form) -> None:
    """Offer the material pick list on every row of a line form, and a loan's due-back date
    (prefilled, LOAN_DAYS from today) on every row that has the field."""
    materials = line_material_choices()
    due = services.default_due_date().isoformat()
    for entry in form.lines.entries:
        entry.form.material.choices = materials
        if (field := entry.form._fields.get("due_back")) is not None:
            field.render_kw = {**(field.render_kw or {}), "data-default": due}
            if request.method == "GET" and not field.data:
                field.data = due
