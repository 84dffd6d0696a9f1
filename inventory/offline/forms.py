"""The offline feature's page forms."""

from flask_babel import lazy_gettext as _l
from wtforms import SubmitField, TextAreaField

from inventory.stock.forms import OnceForm


class ResolutionForm(OnceForm):
    """A manager's decision on an operation held: apply it with the correction, or reject it;
    the note says why (it is what the keeper is told)."""

    note = TextAreaField(_l("处理说明"), render_kw={"rows": 2, "maxlength": 500})
    apply = SubmitField(_l("更正后入账"))
    reject = SubmitField(_l("驳回"))
