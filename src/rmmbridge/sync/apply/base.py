"""Apply's shared part: constants, results, errors, the late-match check, and the applier's id mapping."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import Integration
from rmmbridge.integrations.refs import RefRow, upsert_refs
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.provenance import SYNC, Source
from rmmbridge.sync.matching import junk_set
from rmmbridge.sync.payloads import AssetChange, Entity
from rmmbridge.sync.plan import Op, OpKind, SyncSettings

P = TypeVar("P")

logger = logging.getLogger("rmmbridge.sync")
#: A field mapping targeting the asset's own tag column (see snapshot.ASSET_TAG).
ASSET_TAG = "asset_tag"

ORDER = (Entity.FIELDS, Entity.ASSET_TYPES, Entity.CUSTOMERS, Entity.SITES, Entity.USERS, Entity.ASSETS)
#: Asset ops written in one transaction (see streaming.APPLY_EVERY); a failing one is retried op by op.
ASSET_BATCH = 2000
WRITING = frozenset({OpKind.CREATE, OpKind.UPDATE, OpKind.LINK, OpKind.UNLINK, OpKind.DEACTIVATE,
                     OpKind.REACTIVATE, OpKind.UNCHANGED})
Progress = Callable[[str, int, int], None]
RACED = "; it was created meanwhile (by another sync or a person), so this run used that {what} (#{pk})"


#: PostgreSQL advisory lock key held while a batch checks for late matches and inserts its new assets.
CREATE_LOCK = 0x726D6D62  # "rmmb"
DEFERRED = ("deferred: {what} — an asset another sync created while this one ran; it is linked at the next run "
            "(nothing created)")


@dataclass(frozen=True)
class LateCheck:
    """Matching rules for the last check before assets are created: an asset another integration created since
    `since` (after this run read its snapshot) that a new device matches defers that device to the next run."""

    since: datetime
    rules: tuple[tuple[str, bool], ...]
    junk: frozenset[str]
    allow_moves: bool = False

    @classmethod
    def of(cls, settings: SyncSettings, since: datetime) -> LateCheck:
        return cls(since, tuple((r.field, r.within_customer) for r in settings.match_rules),
                   junk_set(settings.junk_values), settings.allow_customer_moves)


class ApplyError(Exception):
    """One operation cannot be applied; the message says what to fix."""


@dataclass
class ApplyResult:
    """Which ops were applied, which failed (index → message), and how many rows were written."""

    applied: set[int] = field(default_factory=set)
    errors: dict[int, str] = field(default_factory=dict)
    rows_written: int = 0
    deferred: int = 0


def payload(op: Op, kind: type[P]) -> P:
    """The op's payload of the type its entity and kind carry; an ApplyError when a stored row lacks it."""
    data = op.data
    if not isinstance(data, kind):
        raise ApplyError(f"This {op.entity.value} {op.kind.value} row carries no {kind.__name__} data; run the "
                         "preview again.")
    return data


#: What an asset op without a change payload writes: nothing.
NO_CHANGE = AssetChange()


def asset_change(op: Op) -> AssetChange:
    """The asset op's change (read only; an op without one writes nothing)."""
    data = op.data
    return data if type(data) is AssetChange else NO_CHANGE


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or type(exc).__name__

class ApplierBase:
    """State of one apply: the integration, actor, run source, temporary → real ids and the result."""

    def __init__(self, integration: Integration, actor: Actor, *, now: datetime | None = None,
                 progress: Progress | None = None, run_id: int | None = None, late: LateCheck | None = None) -> None:
        self.late = late
        self.integration = integration
        self.iid = int(integration.pk)
        self.actor = actor
        self.now = now or utcnow()
        #: Every value this run writes records it as its source (integration, run, time).
        self.source = Source(SYNC, integration.name, self.iid, run_id, self.now.isoformat(timespec="seconds"))
        self.progress = progress
        self.temp: dict[int, int] = {}
        self.result = ApplyResult()
        self.site_customer: dict[int, int] = {}
        self.unique_tags: bool | None = None
        self.tags_this_run: set[str] = set()
        self.targets: set[int] = set()
        #: A streamed run (`run_batch`): links are read once, parents and shown fields wait for `finish`.
        self.streaming = False
        self.linked: dict[str, int] | None = None
        self.parents: list[tuple[int, str]] = []
        self.shown: dict[int, set[str]] = {}
        #: The late-match check reads each asset once: the other syncs' assets found so far, and the highest asset
        #: id it has read up to (each batch reads only the rows inserted since, not the whole table again).
        self.late_rows: list[tuple[int, str, int, Any]] = []
        self.late_upto = 0

    def resolve(self, value: Any, what: str) -> int:
        if value is None:
            raise ApplyError(f"No {what} was planned for this row.")
        number = int(value)
        if number >= 0:
            return number
        if number not in self.temp:
            raise ApplyError(f"Its {what} is created by another row of this plan that was not applied: "
                             "apply that row too (customers and sites first).")
        return self.temp[number]

    def optional(self, value: Any) -> int | None:
        if value is None:
            return None
        number = int(value)
        return number if number >= 0 else self.temp.get(number)


    def _refs(self, rows: list[RefRow]) -> None:
        self.result.rows_written += upsert_refs(self.iid, rows, now=self.now)

    # Small entities: one action per row ------------------------------------------------------------

    def _shared(self, op: Op | None, what: str, create: Callable[[], Any], existing: Callable[[], Any]) -> Any:
        """Create a shared record (case-insensitive unique name) in a savepoint; when another sync created it
        first, its create hits the unique constraint (or the action's own check): read that record back, use it,
        and say so in the row's reason."""
        try:
            with transaction.atomic():
                record = create()
        except (IntegrityError, ValidationError):
            record = existing()
            if record is None:
                raise
            if op is not None:
                op.reason = f"{op.reason}{RACED.format(what=what, pk=record.pk)}"
            return record
        self.result.rows_written += 1
        return record
