"""Recording master-data changes. Called by other features' services inside their transaction."""

import datetime as dt

from flask import has_request_context, request

from inventory.audit.models import AuditEntry
from inventory.db import db


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def changes_between(before: dict, after: dict) -> dict:
    """Return {field: [old, new]} for every field whose value differs."""
    return {
        field: [_jsonable(before.get(field)), _jsonable(after.get(field))]
        for field in before.keys() | after.keys()
        if before.get(field) != after.get(field)
    }


def record_change(*, actor, action: str, entity: str, key: str, changes: dict) -> None:
    """Add an audit entry for a change made by ``actor`` (None for the command line)."""
    address = (request.remote_addr or "") if has_request_context() else "cli"
    db.session.add(AuditEntry(
        username=actor.username if actor is not None else "cli",
        address=address,
        action=action,
        entity=entity,
        entity_key=key,
        changes=changes,
    ))


def record_created(*, actor, entity: str, key: str, snapshot: dict) -> None:
    """Audit a new record: every field of its snapshot, from nothing."""
    record_change(actor=actor, action="create", entity=entity, key=key,
                  changes=changes_between({}, snapshot))


def record_updated(*, actor, entity: str, key: str, before: dict, after: dict) -> None:
    """Audit what changed between two snapshots of a record; nothing when nothing did."""
    if changes := changes_between(before, after):
        record_change(actor=actor, action="update", entity=entity, key=key, changes=changes)


def record_deleted(*, actor, entity: str, key: str, snapshot: dict) -> None:
    """Audit a removed record: every field of its last snapshot, to nothing."""
    record_change(actor=actor, action="delete", entity=entity, key=key,
                  changes=changes_between(snapshot, {}))
