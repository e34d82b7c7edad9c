"""Values derived from objects that are costly to hash (schemas, profiles), remembered per warm
container and keyed by those objects' identity.

Hashing a `Schema` walks all its definitions, which cost more than a lookup request's own work;
the objects are long-lived (module constants, or cached per tenant profile), so their ids are
stable. Each entry holds its objects, so an id cannot be reused while the entry lives. The cache
is emptied when full: the working set is a handful of schema tuples, profiles and paths.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityCache(Generic[V]):
    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._entries: dict[tuple[Hashable, ...], tuple[tuple[object, ...], V]] = {}

    def get(self, objects: Sequence[object], extra: Hashable, compute: Callable[[], V]) -> V:
        """The value for these very objects and `extra`, computed by `compute()` on a miss."""
        key = (extra, *map(id, objects))
        found = self._entries.get(key)
        if found is not None and all(map(operator.is_, found[0], objects)):
            return found[1]  # the same ids in the key: the same number of objects
        value = compute()
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[key] = (tuple(objects), value)
        return value
