"""The stocktake pages' forms: opening a stocktake, a count and found goods on the count page,
and the buttons of the review page.

They carry text and the CSRF token; open_stocktake, request_recount, approve and cancel
(stocktakes/services.py) validate what is sent.
"""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, SubmitField

from inventory import clock
from inventory.forms import CheckboxesField
from inventory.stock.forms import OnceForm
from inventory.stocktakes.models import quarter_of

# The longest count the number pad takes: MAX_QUANTITY has ten digits.
PAD_DIGITS = 10


class OpenStocktakeForm(OnceForm):
    """开始盘点: where, which quarter, who counts and who watches."""

    site = SelectField(_l("盘点站点"), validate_choice=False)
    period = StringField(_l("季度"), default=lambda: quarter_of(clock.today()),
                         render_kw={"maxlength": 7, "autocomplete": "off", "placeholder": "2026-Q4"},
                         description=_l("格式如 2026-Q4；默认本季度，不能是尚未开始的季度"))
    include_sub_sites = BooleanField(_l("含下级站点"),
                                     description=_l("一并盘点该站点下的村储备点和代储点"))
    categories = SelectMultipleField(_l("仅盘点这些分类（循环盘点）"), validate_choice=False,
                                     render_kw={"size": 6},
                                     description=_l("不选为全部物资；只盘部分分类的不算季度全面盘点"))
    counters = CheckboxesField(_l("盘点人"), validate_choice=False)
    witness = SelectField(_l("监盘人"), validate_choice=False,
                          description=_l("审计员或管理员；不指定时由审批人监盘"))
    note = StringField(_l("备注"), render_kw={"maxlength": 500})
    submit = SubmitField(_l("开始盘点"))


class CountForm(OnceForm):
    """清点: one label's count (a serial item's 在 / 不在 are buttons sending 1 or 0)."""

    label = HiddenField()
    counted = StringField(_l("清点数量"), render_kw={"inputmode": "numeric", "autocomplete": "off",
                                                   "maxlength": PAD_DIGITS})


class FoundForm(OnceForm):
    """登记盘盈: goods with no label, or not on the books."""

    material = SelectField(_l("物资"), validate_choice=False)
    quantity = StringField(_l("数量"), render_kw={"inputmode": "numeric", "autocomplete": "off"})
    lot = StringField(_l("批号"))
    expiry_date = StringField(_l("有效期至"), render_kw={"type": "date"},
                              description=_l("已过期的也照实登记"))
    serial = StringField(_l("序列号"), description=_l("一物一码物资必填，每台登记一行"))
    note = StringField(_l("备注"))


class StocktakeActionForm(OnceForm):
    """审批, 退回复盘 or 撤销: a button with its CSRF token and its own once-only key (the reasons
    and the chosen lines come with it as fields of their own)."""

    submit = SubmitField(_l("确定"))
