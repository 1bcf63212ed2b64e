"""Is this Recall able to work: the checks behind ``/readyz`` and ``recall doctor``.

Each check answers in milliseconds (``/readyz`` may be polled every second) and says what is
wrong in words that name no path, address or recording: load balancers' logs are not private.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from web.services import Services


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _catalog(services: Services) -> str:
    with services.catalog.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return "reachable"


def _index(services: Services) -> str:
    return f"{services.index.document_count():,} sentences and passages"


def _queue(services: Services) -> str:
    return f"{services.jobs.huey.pending_count():,} job(s) waiting"


class _Failed(Exception):
    """A check that ran and found something wrong (its message is the detail)."""


def _disk(services: Services) -> str:
    usage = shutil.disk_usage(services.config.data_dir)
    free_mb = usage.free / 1e6
    least = services.config.library.min_free_mb
    if free_mb < least:
        raise _Failed(f"{free_mb:,.0f} MB free, below the {least:,} MB minimum")
    return f"{free_mb:,.0f} MB free"


READINESS: dict[str, Callable[[Services], str]] = {
    "catalog": _catalog,
    "index": _index,
    "queue": _queue,
    "disk": _disk,
}


def run_check(name: str, check: Callable[[], str], *, explain: bool = False) -> Check:
    """Never raises: an error is a failed check whose detail is its kind, and its message
    (which may hold paths or addresses) only when ``explain``: for the operator's terminal."""
    try:
        return Check(name, True, check())
    except _Failed as e:
        return Check(name, False, str(e))
    except Exception as e:  # whatever breaks, the answer is "not ready", never a 500
        reason = f": {e}" if explain else ""
        return Check(name, False, f"unavailable ({type(e).__name__}){reason}")


def readiness(services: Services) -> list[Check]:
    return [run_check(name, lambda c=check: c(services)) for name, check in READINESS.items()]  # type: ignore[misc]
