"""Addigy (Apple device management) connector: API v2 policies and devices, event webhooks, and its emulator."""

from __future__ import annotations
