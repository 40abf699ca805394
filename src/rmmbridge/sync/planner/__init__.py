"""The pure planner: (remote records, local snapshot, settings) → a plan of explained operations (no Django)."""

from __future__ import annotations

from rmmbridge.sync.planner.assets import AssetPlanner
from rmmbridge.sync.planner.build import build_plan
from rmmbridge.sync.planner.core import (
    DEFAULT_GROUP_NAME,
    DEVICE_ATTRIBUTES,
    DEVICE_TYPE_KEYS,
    GONE_REASON,
    UNCHANGED_REASON,
    Placement,
    RemoteData,
    Resolution,
    TempIds,
    fingerprint,
    raw_sources,
)
from rmmbridge.sync.planner.customers import plan_customers_sites
from rmmbridge.sync.planner.missing import guard, plan_missing
from rmmbridge.sync.planner.stream import CHANGED_BATCH, plan_assets
from rmmbridge.sync.planner.users import UserIndex, plan_users, user_index
from rmmbridge.sync.planner.values import ChangedDevice, device_value, type_label

__all__ = [
    "CHANGED_BATCH", "DEFAULT_GROUP_NAME", "DEVICE_ATTRIBUTES", "DEVICE_TYPE_KEYS", "GONE_REASON", "UNCHANGED_REASON",
    "AssetPlanner", "ChangedDevice", "Placement", "RemoteData", "Resolution", "TempIds", "UserIndex", "build_plan",
    "device_value", "fingerprint", "guard", "plan_assets", "plan_customers_sites", "plan_missing", "plan_users",
    "raw_sources", "type_label", "user_index",
]
