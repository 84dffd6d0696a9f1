"""The site form (with the agreement of an agreement site)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

from inventory.forms import CheckboxesField, choices
from inventory.sites.models import FIELD_NAMES, HAZARD_NAMES, KIND_NAMES, STORAGE_NAMES


class SiteForm(FlaskForm):
    code = StringField(FIELD_NAMES["code"], description=_l("字母、数字、- 或 _，如 GT-XB；创建后不可修改"))
    name = StringField(FIELD_NAMES["name"])
    kind = SelectField(FIELD_NAMES["kind"], choices=choices(KIND_NAMES.items()), validate_choice=False)
    parent = SelectField(FIELD_NAMES["parent"], validate_choice=False)
    population = StringField(FIELD_NAMES["population"], render_kw={"inputmode": "numeric"})
    households = StringField(FIELD_NAMES["households"], render_kw={"inputmode": "numeric"})
    planning_population = StringField(
        FIELD_NAMES["planning_population"], render_kw={"inputmode": "numeric"},
        description=_l("需要安置保障的人数；留空则按站点类型推算（县库 5000；乡镇 1%，易“三断”乡镇 3%…）"))
    latitude = StringField(FIELD_NAMES["latitude"], render_kw={"inputmode": "decimal"})
    longitude = StringField(FIELD_NAMES["longitude"], render_kw={"inputmode": "decimal"})
    hazards = CheckboxesField(FIELD_NAMES["hazards"], choices=choices(HAZARD_NAMES.items()),
                              validate_choice=False)
    address = StringField(FIELD_NAMES["address"])
    keeper_name = StringField(FIELD_NAMES["keeper_name"])
    keeper_phone = StringField(FIELD_NAMES["keeper_phone"], render_kw={"inputmode": "tel"})

    agreement_partner = StringField(FIELD_NAMES["agreement.partner"])
    agreement_number = StringField(FIELD_NAMES["agreement.number"])
    agreement_storage = SelectField(FIELD_NAMES["agreement.storage"], choices=choices(STORAGE_NAMES.items()),
                                    validate_choice=False)
    agreement_valid_from = StringField(FIELD_NAMES["agreement.valid_from"], render_kw={"type": "date"})
    agreement_valid_to = StringField(FIELD_NAMES["agreement.valid_to"], render_kw={"type": "date"})
    agreement_last_verified = StringField(FIELD_NAMES["agreement.last_verified"], render_kw={"type": "date"})
    agreement_contact_name = StringField(FIELD_NAMES["agreement.contact_name"])
    agreement_contact_phone = StringField(FIELD_NAMES["agreement.contact_phone"],
                                          render_kw={"inputmode": "tel"})
    agreement_lines = TextAreaField(FIELD_NAMES["agreement.lines"],
                                    description=_l("每行一种：物资编码 数量，如 1-05-001 200"))

    active = BooleanField(FIELD_NAMES["active"], default=True)
    submit = SubmitField(_l("保存"))
