"""What a user may do through the API: one function, so user roles can take it over later."""

from __future__ import annotations

from typing import Any

#: The permission names the API asks about (reading is `view`, the rest are writes).
PERMISSIONS = ("view", "tickets.write", "integrations.run", "integrations.test")


def allowed(user: Any, permission: str) -> bool:
    """Whether `user` may do `permission`. Today every active user may do everything the web pages allow."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown API permission {permission!r}")
    return bool(user is not None and getattr(user, "is_active", False))
