"""Per-tenant usage plan keys: the implementation is `core.store.usage_plan_keys` (shared with the
management function); this name is kept for `scimctl`."""

from __future__ import annotations

from core.store.usage_plan_keys import KEY_BYTES, UsagePlanKeys

__all__ = ["KEY_BYTES", "UsagePlanKeys"]
