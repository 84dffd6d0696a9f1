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
from inventory.sites.models import HAZARD_NAMES, KIND_NAMES, STORAGE_NAMES


class SiteForm(FlaskForm):
    code = StringField(_l("站点编码"), description=_l("字母、数字、- 或 _，如 GT-XB；创建后不可修改"))
    name = StringField(_l("名称"))
    kind = SelectField(_l("类型"), choices=choices(KIND_NAMES.items()), validate_choice=False)
    parent = SelectField(_l("上级站点"), validate_choice=False)
    population = StringField(_l("人口"), render_kw={"inputmode": "numeric"})
    households = StringField(_l("户数"), render_kw={"inputmode": "numeric"})
    planning_population = StringField(
        _l("保障人口"), render_kw={"inputmode": "numeric"},
        description=_l("需要安置保障的人数；留空则按站点类型推算（县库 5000；乡镇 1%，易“三断”乡镇 3%…）"))
    latitude = StringField(_l("纬度"), render_kw={"inputmode": "decimal"})
    longitude = StringField(_l("经度"), render_kw={"inputmode": "decimal"})
    hazards = CheckboxesField(_l("灾害风险"), choices=choices(HAZARD_NAMES.items()), validate_choice=False)
    address = StringField(_l("地址"))
    keeper_name = StringField(_l("保管员"))
    keeper_phone = StringField(_l("联系电话"), render_kw={"inputmode": "tel"})

    agreement_partner = StringField(_l("协议单位"))
    agreement_number = StringField(_l("协议编号"))
    agreement_storage = SelectField(_l("代储方式"), choices=choices(STORAGE_NAMES.items()),
                                    validate_choice=False)
    agreement_valid_from = StringField(_l("生效日期"), render_kw={"type": "date"})
    agreement_valid_to = StringField(_l("到期日期"), render_kw={"type": "date"})
    agreement_last_verified = StringField(_l("最近核查日期"), render_kw={"type": "date"})
    agreement_contact_name = StringField(_l("协议联系人"))
    agreement_contact_phone = StringField(_l("协议联系电话"), render_kw={"inputmode": "tel"})
    agreement_lines = TextAreaField(_l("约定物资"), description=_l("每行一种：物资编码 数量，如 1-05-001 200"))

    active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))
