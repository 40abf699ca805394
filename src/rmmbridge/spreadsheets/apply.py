"""Applying a spreadsheet import through the service-desk actions, row by row, skipping rows that fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from rmmbridge.servicedesk.actions import Actor, AssetInput, do_upsert_asset, field_definitions
from rmmbridge.spreadsheets.plan import ImportPlan, build_plan
from rmmbridge.spreadsheets.reader import Sheet


@dataclass
class ApplyResult:
    """Counts of what apply did, and the rows that failed with their messages."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "errors": self.errors}


def apply_sheet(sheet: Sheet, actor: Actor) -> tuple[ImportPlan, ApplyResult]:
    """Plan again against the current data, then write each create/update row in its own savepoint."""
    plan = build_plan(sheet)
    definitions = field_definitions()
    result = ApplyResult()
    for row_plan in plan.rows:
        if row_plan.action == "error":
            result.errors.append({"row": row_plan.row, "messages": row_plan.errors})
            continue
        if row_plan.action == "unchanged":
            result.unchanged += 1
            continue
        wanted = row_plan.resolved
        data = AssetInput(
            asset_type=wanted["asset_type"],
            site=wanted["site"],
            name=wanted["name"] or None,
            asset_tag=wanted["asset_tag"] or None,
            end_user=wanted["end_user"],
            parent=wanted["parent"],
            active=wanted["active"],
            values=wanted["values"],
        )
        try:
            with transaction.atomic():
                do_upsert_asset(actor, data, asset=wanted["existing"], definitions=definitions)
        except ValidationError as exc:
            result.errors.append({"row": row_plan.row, "messages": exc.messages})
            continue
        if row_plan.action == "create":
            result.created += 1
        else:
            result.updated += 1
    return plan, result
