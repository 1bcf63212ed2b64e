"""Values worked out once per Whoosh searcher or segment reader, forgotten with it."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerReader(Generic[T]):
    """For each searcher or reader (held weakly) and key, the value ``make`` gave the first
    time it was asked for. A reader never changes, so neither does what is worked out from it;
    a new searcher after a change starts afresh. With ``most``, only that many keys are kept
    per owner, those asked for last (where the keys come from visitors)."""

    def __init__(self, most: int | None = None) -> None:
        self._by_owner: weakref.WeakKeyDictionary[Any, dict[Hashable, T]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self.most = most

    def get(self, owner: Any, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            known = self._by_owner.setdefault(owner, {})
            if key in known and self.most is None:
                return known[key]
            value = known.pop(key) if key in known else make()
            known[key] = value  # last in the dict's order: asked for last
            if self.most is not None and len(known) > self.most:
                del known[next(iter(known))]
            return value
