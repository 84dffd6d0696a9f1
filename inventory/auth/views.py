"""Login, logout, change password, and the administration of users."""

import re
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from inventory.auth import services
from inventory.auth.access import authorize
from inventory.auth.forms import LoginForm, PasswordForm, ResetPasswordForm, UserForm
from inventory.auth.queries import all_users
from inventory.db import db
from inventory.errors import DomainError, TooManyAttempts, ValidationError
from inventory.forms import FORM_ERRORS, ConfirmForm, choices, press, submit
from inventory.sites.queries import visible_sites

blueprint = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the dashboard: no open redirects."""
    # Control characters are refused too: browsers drop tabs and newlines from URLs, and a
    # newline in the Location header would make the redirect itself fail with a 500.
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not re.search(r"[\x00-\x1f\x7f]", target)):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("dashboard.index")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """Log in with username and password, then go back where the user was headed."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()

    def work():
        password = form.password.data or ""
        user = services.authenticate(username=form.username.data or "", password=password,
                                     address=request.remote_addr)
        login_session = services.start_session(user, request.remote_addr, password=password)
        # A fresh cookie at login: nothing planted before it survives (session fixation).
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        session.permanent = True
        user.session_id = login_session.id
        login_user(user)
        return safe_next(request.args.get("next"))

    # A refusal answers with its own status: 401 for a wrong password, 429 when throttled.
    return submit(form, work, done=None, template="auth/login.html", refused=DomainError)


@blueprint.post("/logout")
@login_required
def logout():
    """End this login session on the server, so its cookie is worthless even if copied."""

    def work():
        services.end_session(current_user.session_id)
        logout_user()
        session.clear()
        return url_for("auth.login")

    return press(ConfirmForm(), work, done=_("已退出登录"), category="info")


@blueprint.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other devices are logged out."""
    form = PasswordForm()

    def work():
        if form.new_password.data != form.confirm_password.data:
            raise ValidationError({"confirm_password": _("两次输入的新密码不一致")})
        services.change_password(user=current_user, current_password=form.current_password.data,
                                 new_password=form.new_password.data, address=request.remote_addr)
        return url_for("dashboard.index")

    # A refusal answers with its own status: 422, or 429 once too many guesses were made.
    return submit(form, work, done=_("密码已修改，其他设备上的登录已失效"),
                  template="auth/password.html", refused=(*FORM_ERRORS, TooManyAttempts))


@blueprint.get("/users")
@login_required
def users():
    """Every account, with role, sites and standing (administrators)."""
    authorize(current_user, "users.manage")
    return render_template("auth/users.html", users=all_users())


def _site_choices():
    sites = db.session.scalars(visible_sites(current_user, include_inactive=False,
                                             details=False)).all()
    return choices((site.code, f"{site.code} {site.name}") for site in sites
                   if site.kind != "agreement_site")


def _user_form(**kwargs) -> UserForm:
    """The user form; the sites to pick from are read only if it is shown."""
    form = UserForm(**kwargs)
    form.sites.choices = _site_choices
    return form


def _fill_user_form(form: UserForm, user) -> None:
    form.display_name.data, form.role.data, form.active.data = (
        user.display_name, user.role, user.active)
    form.sites.data = [site.code for site in user.sites]


@blueprint.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    """Create an account."""
    authorize(current_user, "users.manage")
    form = _user_form()
    username = (form.username.data or "").strip()

    def work():
        services.create_user(actor=current_user, username=username, role=form.role.data,
                             password=form.password.data or "", site_codes=form.sites.data or [],
                             display_name=form.display_name.data or "")
        return url_for("auth.users")

    return submit(form, work, done=_("已创建用户 %(name)s", name=username),
                  template="auth/user_form.html")


@blueprint.route("/users/<username>/edit", methods=["GET", "POST"])
@login_required
def edit_user(username):
    """Change a user's role, sites, name or standing; reset their password."""
    authorize(current_user, "users.manage")
    user = services.get_user(username)
    form = _user_form()
    reset = ResetPasswordForm(prefix="reset")
    if request.method == "GET":
        _fill_user_form(form, user)

    def work():
        services.update_user(actor=current_user, username=username, role=form.role.data,
                             site_codes=form.sites.data or [], active=form.active.data,
                             display_name=form.display_name.data or "")
        return url_for("auth.users")

    return submit(form, work, done=_("已保存"), template="auth/user_form.html", user=user,
                  reset=reset)


@blueprint.post("/users/<username>/password")
@login_required
def reset_password(username):
    """Give a user a new password; every session of theirs ends."""
    authorize(current_user, "users.manage")
    user = services.get_user(username)
    reset = ResetPasswordForm(prefix="reset")
    form = _user_form(formdata=None)  # refused, the user's page is shown again
    _fill_user_form(form, user)

    def work():
        services.set_password(actor=current_user, username=username,
                              password=reset.password.data or "")
        return url_for("auth.users")

    return submit(reset, work, done=_("已为 %(name)s 重设密码", name=username),
                  template="auth/user_form.html", form=form, user=user, reset=reset)
