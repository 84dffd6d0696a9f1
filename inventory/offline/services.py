"""Devices: registered by their keeper while online, revoked by their keeper or an admin, marked
lost by an admin; and the lookup that lets a device's token in.

Every public action is one unit of work that validates, authorises and records in the audit log.
"""

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import clock
from inventory.audit.services import record_created, record_updated
from inventory.auth.access import authorize, authorize_somewhere
from inventory.auth.models import User
from inventory.db import db, transactional
from inventory.errors import InvalidState, NotFound
from inventory.offline.models import DEVICE_IDLE_DAYS, Device
from inventory.offline.schemas import DEVICE
from inventory.validation import load

# How stale last_used_at may grow before a request refreshes it: not a write on every request.
TOUCH_EVERY = dt.timedelta(hours=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _snapshot(device: Device) -> dict:
    return {"user": device.user.username, "name": device.name, "status": device.status}


@transactional
def register_device(*, actor, data: dict) -> tuple[str, Device]:
    """登记设备: a token for this phone; the plain token is answered once, only its digest kept."""
    fields = load(DEVICE, data)
    authorize_somewhere(actor, "devices.register")
    token = secrets.token_urlsafe(32)
    device = Device(user_id=actor.id, name=fields["name"], digest=_digest(token))
    db.session.add(device)
    db.session.flush()
    record_created(actor=actor, entity="device", key=str(device.id), snapshot=_snapshot(device))
    return token, device


def _own_or_admin(actor, device_id: int) -> Device:
    """The device, if it is the actor's or the actor manages users; else as if it did not exist."""
    device = db.session.get(Device, device_id)
    if device is None or (device.user_id != getattr(actor, "id", None) and actor.role != "admin"):
        raise NotFound(_("设备 %(id)s 不存在", id=device_id))
    return device


@transactional
def revoke_device(*, actor, device_id: int) -> Device:
    """注销设备: its token answers 401 from now on; the phone keeps what it has not synced."""
    device = _own_or_admin(actor, device_id)
    if device.revoked_at is not None:
        raise InvalidState(_("设备“%(name)s”已注销", name=device.name))
    before = _snapshot(device)
    device.revoked_at = clock.now()
    record_updated(actor=actor, entity="device", key=str(device.id), before=before, after=_snapshot(device))
    return device


@transactional
def mark_lost(*, actor, device_id: int) -> Device:
    """挂失: at its next contact the phone is told to clear what it holds, and whatever it sends
    from now on is held for a manager's review, not applied."""
    authorize(actor, "devices.manage")
    device = _own_or_admin(actor, device_id)
    if device.revoked_at is not None or device.lost_at is not None:
        raise InvalidState(_("设备“%(name)s”已注销或已挂失", name=device.name))
    before = _snapshot(device)
    device.lost_at = clock.now()
    record_updated(actor=actor, entity="device", key=str(device.id), before=before, after=_snapshot(device))
    return device


_DEVICE_USER = (sa.select(User, Device.id, Device.last_used_at, Device.lost_at)
                .join(Device, Device.user_id == User.id)
                .where(Device.digest == sa.bindparam("digest"), Device.revoked_at.is_(None),
                       Device.last_used_at > sa.bindparam("since"), User.active))


def user_for_device_token(token: str) -> User | None:
    """The active user of a live (not revoked, not expired) device token, knowing which device
    (``device_id``) and whether it was reported lost (``device_lost``); or None."""
    now = clock.now()
    row = db.session.execute(_DEVICE_USER, {"digest": _digest(token),
                                            "since": now - dt.timedelta(days=DEVICE_IDLE_DAYS)}
                             ).unique().one_or_none()
    if row is None:
        return None
    if row.last_used_at <= now - TOUCH_EVERY:
        # On a connection of its own, committed at once: not a unit of the request's work (a
        # sync's or an issue's), and kept even when that work fails.
        with db.engine.begin() as connection:
            connection.execute(sa.update(Device).where(Device.id == row.id).values(last_used_at=now))
    user = row.User
    user.device_id, user.device_lost = row.id, row.lost_at is not None
    return user
