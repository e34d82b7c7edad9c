"""`core.identity_cache`: values remembered per the very objects they were derived from."""

from __future__ import annotations

from core.identity_cache import IdentityCache


class Costly:
    """Equal to every other instance, as equal schemas are: only identity tells them apart."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Costly)

    def __hash__(self) -> int:
        return 0


def test_the_same_objects_and_key_get_the_remembered_value() -> None:
    cache = IdentityCache[list[str]](8)
    a, b = Costly(), Costly()
    first = cache.get((a, b), "k", lambda: ["computed"])
    assert cache.get((a, b), "k", lambda: ["again"]) is first
    assert cache.get([a, b], "k", lambda: ["again"]) is first  # any sequence of the same objects


def test_equal_but_other_objects_or_another_key_compute_again() -> None:
    cache = IdentityCache[str](8)
    a, b = Costly(), Costly()
    assert cache.get((a,), "k", lambda: "a") == "a"
    assert cache.get((b,), "k", lambda: "b") == "b"
    assert cache.get((a,), "other", lambda: "a2") == "a2"
    assert cache.get((a, b), "k", lambda: "ab") == "ab"
    assert cache.get((a,), None, lambda: "none") == "none"


def test_a_remembered_none_is_a_hit() -> None:
    calls: list[int] = []
    cache = IdentityCache[None](8)
    a = Costly()
    for _ in range(3):
        cache.get((a,), "k", lambda: calls.append(1))
    assert calls == [1]


def test_a_full_cache_starts_over() -> None:
    cache = IdentityCache[int](2)
    objects = [Costly() for _ in range(3)]
    for n, o in enumerate(objects):
        cache.get((o,), "k", lambda value=n: value)  # type: ignore[misc] # mypy cannot type a default
    assert cache.get((objects[0],), "k", lambda: 99) == 99  # forgotten when the third arrived
    assert cache.get((objects[2],), "k", lambda: 99) == 2
