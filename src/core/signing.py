"""Tamper-evident values handed to clients (cursors, ETags): HMAC-SHA256 under per-tenant keys.

One master key per stack lives in Secrets Manager; the handlers install a `KeyRing` that loads it
once per container, lazily (the first request that signs or verifies something). Each tenant signs
with ``HMAC(master, tenant)``, so a value issued to one tenant never verifies for another, even if
its payload names that tenant. A verification failure re-reads the master key at most once per
`REFRESH_INTERVAL_SECONDS`, so a rotated secret is picked up without a cold start while a flood
of forged values cannot hammer Secrets Manager.

A process that was given no key (benchmarks, ad-hoc scripts, unit tests) signs with a random
per-process key: its values verify only within that process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Sequence

REFRESH_INTERVAL_SECONDS = 5.0
_DERIVATION_LABEL = b"scim-signing-v1\x00"
_SEPARATOR = b"\x1f"  # unit separator: never part of a tenant id, purpose or id we sign


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Strict: ValueError for anything but unpadded base64url."""
    if not text or any(c not in _B64URL for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class KeyRing:
    """The master key (loaded lazily, refreshed on demand) and the tenant keys derived from it."""

    def __init__(
        self,
        load_master: Callable[[], bytes],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load_master
        self._clock = clock
        self._master: bytes | None = None
        self._loaded_at = 0.0
        self._tenant_keys: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times the master key was read (tests and metrics)

    @classmethod
    def ephemeral(cls) -> KeyRing:
        key = secrets.token_bytes(32)
        return cls(lambda: key)

    def _tenant_key(self, tenant_id: str) -> bytes:
        key = self._tenant_keys.get(tenant_id)  # the warm path: no lock (the dict is only replaced
        if key is not None:  # or cleared under the lock, and a get is atomic)
            return key
        with self._lock:
            if self._master is None:
                self._read_master()
            key = self._tenant_keys.get(tenant_id)
            if key is None:
                assert self._master is not None
                key = hmac.new(self._master, _DERIVATION_LABEL + tenant_id.encode(), hashlib.sha256).digest()
                self._tenant_keys[tenant_id] = key
            return key

    def _read_master(self) -> None:
        master = self._load()
        if len(master) < 16:
            raise ValueError("the signing key is shorter than 16 bytes")
        self.loads += 1
        self._loaded_at = self._clock()
        if master != self._master:
            self._master = master
            self._tenant_keys.clear()

    def refresh(self) -> bool:
        """Re-read the master key unless it was read very recently; True if it changed."""
        with self._lock:
            if self._master is not None and self._clock() - self._loaded_at < REFRESH_INTERVAL_SECONDS:
                return False
            before = self._master
            self._read_master()
            return self._master != before

    def mac(self, tenant_id: str, purpose: str, parts: Sequence[str | bytes], size: int) -> bytes:
        """``size`` bytes of HMAC(tenant key, purpose ‖ parts): the purpose keeps a cursor's MAC from
        ever being accepted as an ETag's, and the separators keep ("ab", "c") apart from ("a", "bc")."""
        message = _SEPARATOR.join(
            [purpose.encode(), *(p if isinstance(p, bytes) else p.encode() for p in parts)]
        )
        return hmac.digest(self._tenant_key(tenant_id), message, "sha256")[:size]

    def verify(self, tenant_id: str, purpose: str, parts: Sequence[str | bytes], tag: bytes) -> bool:
        """Constant-time check; on a mismatch, one rate-limited re-read in case the key rotated."""
        if hmac.compare_digest(self.mac(tenant_id, purpose, parts, len(tag)), tag):
            return True
        if not tag or not self.refresh():
            return False
        return hmac.compare_digest(self.mac(tenant_id, purpose, parts, len(tag)), tag)


_provider: Callable[[], KeyRing] | None = None
_fallback: KeyRing | None = None
_install_lock = threading.Lock()


def install(provider: Callable[[], KeyRing] | None) -> None:
    """Make ``provider()`` the process's signer (handlers call this at import); None forgets it.

    A provider rather than a key ring, so that the handlers' per-container cache of it is reset
    with their other warm state."""
    global _provider  # noqa: PLW0603 - one signer per process, as one key per container
    with _install_lock:
        _provider = provider


def keyring() -> KeyRing:
    global _fallback  # noqa: PLW0603
    provider = _provider
    if provider is not None:
        return provider()
    with _install_lock:
        if _fallback is None:
            _fallback = KeyRing.ephemeral()
        return _fallback
