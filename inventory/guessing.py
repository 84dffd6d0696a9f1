"""Label guessing: whoever keeps asking for labels that do not exist, or that they may not see,
is refused with 429 for a while (QUALITY.md S13).

An extension of the app (``extensions.label_guessing``), used wherever a label is looked up on
someone's behalf: the scan pages and the API alike.

Labels carry 80 random bits, so guessing cannot work; the limit makes trying visible and slow.
Misses are counted in the worker's memory, not the database, because looking a label up is a
GET and GETs never write (R5). Each worker counts its own, so a guesser spread over N workers
gets at most N times the limit before every worker refuses them.
"""

import threading
import time
from collections import defaultdict, deque

from flask import current_app

from inventory.errors import Forbidden, NotFound, TooManyAttempts


class MissCounter:
    """Misses per user over a sliding window."""

    def __init__(self, limit: int, window_s: float):
        self.limit, self.window_s = limit, window_s
        self._misses: dict[int, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, user_id: int, now: float) -> deque:
        misses = self._misses[user_id]
        while misses and misses[0] <= now - self.window_s:
            misses.popleft()
        return misses

    def too_many(self, user_id: int) -> bool:
        with self._lock:
            return len(self._recent(user_id, time.monotonic())) >= self.limit

    def count(self, user_id: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(user_id, now).append(now)


class LabelGuessing:
    """The extension: one miss counter per app, from LABEL_MISSES_PER_USER per
    LABEL_MISS_WINDOW_MINUTES."""

    def init_app(self, app) -> None:
        app.extensions["label_misses"] = MissCounter(app.config["LABEL_MISSES_PER_USER"],
                                                     app.config["LABEL_MISS_WINDOW_MINUTES"] * 60)

    def look_up(self, user, lookup):
        """``lookup()`` of a label on behalf of ``user``: a NotFound or Forbidden counts as a miss,
        and a user with too many recent misses is refused before anything is looked up."""
        misses: MissCounter = current_app.extensions["label_misses"]
        if misses.too_many(user.id):
            current_app.logger.warning("label guessing: user %s refused after %d misses",
                                       user.username, misses.limit)
            raise TooManyAttempts()
        try:
            return lookup()
        except (NotFound, Forbidden):
            misses.count(user.id)
            raise
