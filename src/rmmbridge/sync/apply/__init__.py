"""Apply a plan: transactional batches through the service-desk actions, bulk writes, bad items skipped."""

from __future__ import annotations

from rmmbridge.sync.apply.applier import Applier, apply_ops
from rmmbridge.sync.apply.base import ASSET_BATCH, ORDER, ApplyError, ApplyResult, LateCheck

__all__ = ["ASSET_BATCH", "ORDER", "Applier", "ApplyError", "ApplyResult", "LateCheck", "apply_ops"]
