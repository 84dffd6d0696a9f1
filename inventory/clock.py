"""The domain clock: one now() and one today(), in the bureau's timezone.

A county bureau's day runs on Beijing time whatever the server's own clock says: an item
expires, a loan falls due and a date may not lie in the future by the bureau's calendar, not
by UTC (at 07:00 in 张掖 it is still yesterday in UTC). Every rule that needs the date asks
here, and tests move the clock here (``travel``), never by patching ``datetime``.
"""

import datetime as dt
import functools
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"

# Where the clock stands when a test has moved it: an offset from the real time, so that time
# still passes (a token made now is older a second later), or None for the real clock.
_offset: dt.timedelta | None = None


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def timezone() -> ZoneInfo:
    """The bureau's timezone (BABEL_DEFAULT_TIMEZONE, the one pages show times in)."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return _zone(name or DEFAULT_TIMEZONE)


def now() -> dt.datetime:
    """This instant, timezone-aware in UTC (the form every timestamp is stored in)."""
    instant = dt.datetime.now(dt.UTC)
    return instant + _offset if _offset is not None else instant


def today() -> dt.date:
    """The bureau's date today."""
    return now().astimezone(timezone()).date()


@contextmanager
def travel(to: dt.date | dt.datetime):
    """Move the clock to ``to`` (a date means 12:00 that day, bureau time) for the block.

    For tests: what was due next week is overdue after ``travel(today() + timedelta(days=8))``.
    """
    global _offset
    if not isinstance(to, dt.datetime):
        to = dt.datetime.combine(to, dt.time(12), tzinfo=timezone())
    elif to.tzinfo is None:
        raise ValueError("travel() needs an aware datetime or a date")
    previous = _offset
    _offset = to - dt.datetime.now(dt.UTC)
    try:
        yield
    finally:
        _offset = previous
