"""A small time-bounded cache for values that warm Lambda containers may reuse (token hashes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    loaded_at: float


class TtlCache(Generic[V]):
    def __init__(self, max_age: float, clock: Callable[[], float] = time.monotonic, max_entries: int = 1024):
        self._max_age = max_age
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, _Entry[V]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, loader: Callable[[], V], *, max_age: float | None = None) -> V:
        limit = self._max_age if max_age is None else min(max_age, self._max_age)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry.loaded_at < limit:
            return entry.value
        value = loader()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # bounded memory; reloading is cheap
            self._entries[key] = _Entry(value, now)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
