"""Tenant and token administration for the CLI and the local gateway's demo seeding.

The logic lives in `core.management` (shared with the management API's function); this module
keeps the names `scimctl` has always used."""

from __future__ import annotations

from core.management import IssuedToken, Management, ManagementError, Stamp

Admin = Management
AdminError = ManagementError

__all__ = ["Admin", "AdminError", "IssuedToken", "Stamp"]
