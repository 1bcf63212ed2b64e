"""The time the catalog stores: UTC without a zone, because SQLite's DateTime keeps none and
every stored time must compare with every other."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """Now in UTC, naive (``tzinfo`` None), as every ``*_at`` column holds it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
