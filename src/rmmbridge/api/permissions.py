"""What a user may do through the API: each API permission maps to the role permission the web pages use."""

from __future__ import annotations

from typing import Any

from rmmbridge.servicedesk import roles

#: The permission names the API asks about (reading is `view`, the rest are writes) and the role permission each needs.
PERMISSIONS: dict[str, str] = {
    "view": roles.VIEW,
    "tickets.write": roles.OPERATE,
    "integrations.run": roles.OPERATE,
    "integrations.test": roles.ADMINISTER,
}


def allowed(user: Any, permission: str) -> bool:
    """Whether `user` may do `permission`: an active user whose role grants it (a token acts as its user)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown API permission {permission!r}")
    if user is None or not getattr(user, "is_active", False):
        return False
    return roles.allowed(user, PERMISSIONS[permission])
