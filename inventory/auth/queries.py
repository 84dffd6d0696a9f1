"""The read side of accounts."""

import sqlalchemy as sa

from inventory.auth.models import User
from inventory.db import db


def all_users() -> list[User]:
    """Every account, active ones first, by username."""
    return list(db.session.scalars(sa.select(User).order_by(User.active.desc(), User.username)))
