"""Accounts, passwords, login sessions, throttling and API tokens."""

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

from inventory import clock
from inventory.audit.services import record_change, record_created, record_updated
from inventory.auth.access import authorize
from inventory.auth.models import ROLES, ApiToken, LoginFailure, User, UserSession
from inventory.db import db, transactional
from inventory.errors import NotFound, TooManyAttempts, Unauthorized, ValidationError
from inventory.sites.models import Site
from inventory.validation import Invalid, String, listing

# OWASP Password Storage Cheat Sheet minimum for argon2id: 19 MiB, t=2, p=1 (QUALITY.md S7).
password_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
USERNAME_PATTERN = r"[A-Za-z0-9_.-]{2,64}"
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256
SCOPED_ROLES_NEED_SITES = {"keeper", "auditor"}
DISPLAY_NAME_MAX_LENGTH = 64
# Shown in lists and on signed slips: refused like any name with bidi or invisible characters.
DISPLAY_NAME = String(max_length=DISPLAY_NAME_MAX_LENGTH, min_length=0)
# Verified against when the account does not exist, so both answers take the same time.
_DUMMY_HASH = password_hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return password_hasher.hash(password)


def check_password_rules(password: str, field: str = "password") -> None:
    """Raise ValidationError unless ``password`` is acceptable."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationError({field: _("密码至少 %(n)d 个字符", n=PASSWORD_MIN_LENGTH)})
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationError({field: _("密码不能超过 %(n)d 个字符", n=PASSWORD_MAX_LENGTH)})


def find_user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _sites_by_code(codes) -> list[Site]:
    sites = db.session.scalars(sa.select(Site).where(Site.code.in_(codes))).all()
    missing = set(codes) - {site.code for site in sites}
    if missing:
        raise ValidationError({"sites": _("站点不存在：%(codes)s", codes=listing(sorted(missing)))})
    return list(sites)


def get_user(username: str) -> User:
    """The user with this name; raise NotFound."""
    user = find_user(username)
    if user is None:
        raise NotFound(_("用户不存在"))
    return user


def _check_role_and_profile(errors: dict, role, site_codes, display_name) -> None:
    if role not in ROLES:
        errors["role"] = _("角色应为以下之一：%(roles)s", roles=listing(ROLES))
    elif role in SCOPED_ROLES_NEED_SITES and not site_codes:
        errors["sites"] = _("保管员和盘点员至少要指定一个站点")
    try:
        DISPLAY_NAME.convert(display_name)
    except Invalid as problem:
        errors["display_name"] = str(problem)


def _user_snapshot(user: User) -> dict:
    return {"role": user.role, "sites": [site.code for site in user.sites],
            "display_name": user.display_name, "active": user.active}


@transactional
def create_user(*, actor, username: str, role: str, password: str, site_codes=(),
                display_name="") -> User:
    """Create an account; keepers and auditors must be given at least one site."""
    authorize(actor, "users.manage")
    errors = {}
    if not isinstance(username, str) or not re.fullmatch(USERNAME_PATTERN, username):
        errors["username"] = _("用户名为 2–64 个字母、数字或 _ . -")
    elif find_user(username) is not None:
        errors["username"] = _("用户名已存在")
    _check_role_and_profile(errors, role, site_codes, display_name)
    if errors:
        raise ValidationError(errors)
    check_password_rules(password)
    sites = _sites_by_code(site_codes) if role in SCOPED_ROLES_NEED_SITES else []
    user = User(username=username, role=role, display_name=display_name.strip(),
                password_hash=hash_password(password), sites=sites)
    db.session.add(user)
    record_created(actor=actor, entity="user", key=username, snapshot=_user_snapshot(user))
    return user


@transactional
def update_user(*, actor, username: str, role: str, site_codes=(), display_name="",
                active: bool = True) -> User:
    """Change a user's role, sites, name or standing; a deactivated user is logged out at once."""
    authorize(actor, "users.manage")
    user = get_user(username)
    errors = {}
    _check_role_and_profile(errors, role, site_codes, display_name)
    if user.username == actor.username and (not active or role != user.role):
        errors["role"] = _("不能停用自己或更改自己的角色")
    if errors:
        raise ValidationError(errors)
    before = _user_snapshot(user)
    user.role, user.display_name, user.active = role, display_name.strip(), active
    user.sites = _sites_by_code(site_codes) if role in SCOPED_ROLES_NEED_SITES else []
    if not active:
        db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
        db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id))
    record_updated(actor=actor, entity="user", key=username, before=before,
                   after=_user_snapshot(user))
    return user


def _client_key(address: str | None) -> str:
    return (address or "unknown")[:64]


def _check_throttle(username: str, address: str) -> None:
    config = current_app.config
    since = clock.now() - dt.timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"])
    count = sa.select(sa.func.count()).select_from(LoginFailure).where(LoginFailure.at >= since)
    per_account = db.session.scalar(count.where(LoginFailure.username == username))
    per_address = db.session.scalar(count.where(LoginFailure.address == address))
    if (per_account >= config["LOGIN_FAILURES_PER_ACCOUNT"]
            or per_address >= config["LOGIN_FAILURES_PER_ADDRESS"]):
        raise TooManyAttempts(_("登录失败次数过多，请 %(n)d 分钟后再试",
                                n=config["LOGIN_FAILURE_WINDOW_MINUTES"]))


@transactional
def _record_failure(username: str, address: str) -> None:
    window = dt.timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])
    # Old rows are of no further use; drop them so the table stays small.
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.at < clock.now() - 4 * window))
    db.session.add(LoginFailure(username=username, address=address))


def authenticate(*, username: str, password: str, address: str | None) -> User:
    """Return the user for these credentials, or raise Unauthorized / TooManyAttempts.

    Failures are counted in the database per account and per address, so the limit holds across
    every worker; over the limit, credentials are not even checked.
    """
    username = (username or "")[:64]
    address = _client_key(address)
    _check_throttle(username.lower(), address)
    user = find_user(username)
    try:
        password_hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
        valid = user is not None and user.active
    except (VerificationError, InvalidHashError):
        valid = False
    if not valid:
        _record_failure(username.lower(), address)
        raise Unauthorized(_("用户名或密码错误"))
    return user


def _logged_in(user: User, password: str) -> None:
    """What a successful login changes: its past failures are forgotten, an old hash upgraded."""
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.username == user.username.lower()))
    if password_hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)


@transactional
def start_session(user: User, address: str | None, *, password: str) -> UserSession:
    """Log in (authenticate() checked the password): one unit of work that opens a login session,
    whose id is what the signed cookie carries."""
    _logged_in(user, password)
    login = UserSession(id=secrets.token_urlsafe(32), user=user, address=_client_key(address))
    db.session.add(login)
    return login


# Every request finds its user by a login session or an API token. Each look-up is one
# statement, built once: the active user with their own sites joined (a keeper has one or two),
# not each site's parent (bench/README).
_OWN_SITES = sa.orm.joinedload(User.sites).lazyload(Site.parent)
_SESSION_USER = (sa.select(User).join(UserSession, UserSession.user_id == User.id)
                 .where(UserSession.id == sa.bindparam("session_id"),
                        UserSession.created_at >= sa.bindparam("since"), User.active)
                 .options(_OWN_SITES))
_TOKEN_USER = (sa.select(User, ApiToken.id).join(ApiToken, ApiToken.user_id == User.id)
               .where(ApiToken.digest == sa.bindparam("digest"),
                      ApiToken.expires_at > sa.bindparam("now"), User.active)
               .options(_OWN_SITES))


def load_session(session_id: str, max_age: dt.timedelta) -> User | None:
    """Return the user of a live session, or None when it was ended or has expired."""
    user = db.session.execute(_SESSION_USER, {"session_id": session_id,
                                              "since": clock.now() - max_age}
                              ).unique().scalar_one_or_none()
    if user is not None:
        user.session_id = session_id
    return user


@transactional
def end_session(session_id: str | None) -> None:
    """Log out: the session's cookie is worthless from now on."""
    if session_id:
        db.session.execute(sa.delete(UserSession).where(UserSession.id == session_id))


def change_password(*, user: User, current_password: str, new_password: str,
                    address: str | None = None) -> None:
    """Change a password after checking the current one; every other session of the user ends.

    A wrong current password counts as a failed login, through the same throttle: a stolen
    session cookie must not be a way to guess the password past the login limit.
    """
    username, address = user.username.lower(), _client_key(address)
    _check_throttle(username, address)
    try:
        password_hasher.verify(user.password_hash, current_password or "")
    except (VerificationError, InvalidHashError):
        _record_failure(username, address)
        raise ValidationError({"current_password": _("当前密码不正确")}) from None
    _set_own_password(user, new_password)


@transactional
def _set_own_password(user: User, new_password: str) -> None:
    check_password_rules(new_password, "new_password")
    user.password_hash = hash_password(new_password)
    db.session.execute(sa.delete(UserSession).where(
        UserSession.user_id == user.id, UserSession.id != (user.session_id or "")))
    db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id))
    record_change(actor=user, action="password", entity="user", key=user.username, changes={})


@transactional
def set_password(*, actor, username: str, password: str) -> None:
    """Set a password without the old one (admins, the command line): how a compromised account
    is recovered, so every session and every API token of the user ends."""
    authorize(actor, "users.manage")
    user = get_user(username)
    check_password_rules(password)
    user.password_hash = hash_password(password)
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id))
    record_change(actor=actor, action="password", entity="user", key=username, changes={})


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transactional
def issue_token(*, user: User, days: int, password: str | None = None) -> tuple[str, ApiToken]:
    """Create an API token; the plain token is returned once and only its digest is kept.

    Given the ``password`` that authenticate() checked, this is a login, in the same unit.
    """
    if password is not None:
        _logged_in(user, password)
    token = secrets.token_urlsafe(32)
    record = ApiToken(user=user, digest=_digest(token),
                      expires_at=clock.now() + dt.timedelta(days=days))
    db.session.add(record)
    return token, record


def user_for_token(token: str) -> User | None:
    """The active user a live token belongs to (knowing which token: api_token_id), or None."""
    row = db.session.execute(_TOKEN_USER, {"digest": _digest(token), "now": clock.now()}
                             ).unique().one_or_none()
    if row is None:
        return None
    user = row.User
    user.api_token_id = row.id
    return user
