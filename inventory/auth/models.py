"""Users, their site scope, login sessions, API tokens and failed-login counters."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory import clock
from inventory.db import UTCDateTime, db
from inventory.sites.models import Site

# The code tuple is the keys of its display names.
ROLE_NAMES = {
    "admin": _l("系统管理员"),
    "manager": _l("管理员"),
    "dispatcher": _l("调度员"),
    "keeper": _l("保管员"),
    "auditor": _l("盘点员"),
    "viewer": _l("查看者"),
}
ROLES = tuple(ROLE_NAMES)


user_sites = sa.Table(
    "user_sites",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("site_id", sa.ForeignKey("sites.id"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(sa.text(f"role IN {ROLES}"), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64), default="")
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    sites: Mapped[list[Site]] = relationship(secondary=user_sites, lazy="selectin",
                                             order_by="Site.code")

    # The login session or API token this request runs under; set when the user is loaded for
    # the request, not stored.
    session_id = None
    api_token_id = None

    def get_id(self) -> str | None:
        return self.session_id

    @property
    def is_active(self) -> bool:
        return self.active


class UserSession(db.Model):
    """A logged-in browser; deleting the row ends it, whatever the cookie says."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    address: Mapped[str] = mapped_column(sa.String(64), default="")

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 digest is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class LoginFailure(db.Model):
    """One failed login, counted per account and per address across all workers."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    address: Mapped[str] = mapped_column(sa.String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
