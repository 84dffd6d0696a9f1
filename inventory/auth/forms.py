"""Login and change-password forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), render_kw={"autocomplete": "username",
                                                  "autocapitalize": "none"})
    password = PasswordField(_l("密码"), render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("登录"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("新密码"), description=_l("至少 10 个字符"),
                                 render_kw={"autocomplete": "new-password"})
    confirm_password = PasswordField(_l("再次输入新密码"), render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("修改密码"))
