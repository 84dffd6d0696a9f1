"""The change feed (API.md "Change feed"): what happened, in the order it happened, from a cursor.

A client stores ``next`` and asks again with ``after=next``: it misses nothing and sees nothing
twice, because the cursor is the event's own id and an event is appended in the transaction of
what it reports. Scoped like every list: an event at a site is seen by those who may view the site.
"""

import re

from flask import g, request
from flask_babel import gettext as _

from inventory.api.routes import query, route
from inventory.api.shapes import Int, IsoDateTime, ListOf, Out, Shape, Str
from inventory.errors import ValidationError
from inventory.feed import queries

MAX_CURSOR = 2**63 - 1  # the events table's id is a 64-bit integer
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
# What an event is about is addressed as the API addresses it: these by integer id, the documents
# (transfers, issues …) by their number, a string.
ADDRESSED_BY_ID = ("incident.", "request.", "stocktake.")
TYPE_NAME = re.compile(r"[a-z_]+\.[a-z_]+")


def _address(event):
    return int(event.ref) if event.type.startswith(ADDRESSED_BY_ID) and event.ref.isdigit() else event.ref


class Address(Out):
    """An integer id (incidents, requests, stocktakes) or a document number (a string)."""

    def type_schema(self, components):
        return {"type": ["integer", "string"]}


class Data(Out):
    """What the event says happened, as its type writes it (a change's old → new, a request's lines …)."""

    json_type = "object"


EVENT = Shape({
    "cursor": Int("id", minimum=1, description="事件的游标：下次以 after= 续读"),
    "at": IsoDateTime(), "type": Str(),
    "id": Address(_address, description="所涉对象：灾情事件、需求申报、盘点单为整数编号，单据为单号（文本）"),
    "site": Str("site.code", nullable=True), "incident": Int("incident_id", nullable=True),
    "data": Data(),
}, name="Event")
FEED = Shape({
    "items": ListOf(EVENT, lambda page: page[0]),
    "next": Int(lambda page: page[1], minimum=0, description="下次请求的 after；没有新事件时不变"),
}, name="EventFeed")


def _number(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name) or str(default)
    if not (re.fullmatch(r"[0-9]{1,19}", raw) and minimum <= int(raw) <= maximum):
        raise ValidationError({name: _("应为 %(low)d 到 %(high)d 之间的整数", low=minimum, high=maximum)})
    return int(raw)


def _types() -> list[str] | None:
    raw = request.args.get("types")
    if not raw:
        return None
    types = [name.strip() for name in raw.split(",") if name.strip()]
    if not types or len(types) > 50 or not all(TYPE_NAME.fullmatch(name) for name in types):
        raise ValidationError({"types": _("应为以逗号分隔的事件类型，如 incident.opened,request.created")})
    return types


@route.get("/events", "变更事件流：从游标之后按发生顺序（限于调用者的站点范围）", query=(
    query("after", "游标：上次答复的 next；不填或 0 为从头",
          {"type": "integer", "minimum": 0, "maximum": MAX_CURSOR}, or_empty=True),
    query("types", "只要这些类型，逗号分隔，如 incident.opened,transfer.dispatched",
          {"type": "string", "pattern": r"^[a-z_]+\.[a-z_]+(,[a-z_]+\.[a-z_]+)*$"}, or_empty=True),
    query("limit", f"最多条数，默认 {DEFAULT_LIMIT}，最多 {MAX_LIMIT}",
          {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, or_empty=True),
), answers=FEED, errors=(401, 422))
def list_events():
    """Types: incident.opened, incident.changed, incident.closed, request.created, request.planned,
    request.approved, request.cancelled, transfer.dispatched, transfer.received, issue.created,
    stocktake.closed, … A cursor that is not a whole number ≥ 0 → 422."""
    return queries.events(g.api_user, after=_number("after", 0, 0, MAX_CURSOR), types=_types(),
                          limit=_number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT))
