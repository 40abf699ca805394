"""A streamed first sync: devices are planned and applied batch by batch while later pages still arrive."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.sync.apply import Applier, LateCheck
from rmmbridge.sync.models import RowStatus, SyncPlanRow, SyncRun
from rmmbridge.sync.plan import COUNT_KEY_OF, Op, OpKind, Snapshot, empty_counts

Progress = Callable[[str, int, int], None]
ROW_BATCH = 2000
#: Devices applied in one transaction of a streamed run: the planner hands fewer at a time, so they wait here. A
#: larger transaction writes each index page it touches once (a device's name and external id land on random
#: pages of their indexes): 100,000 asset inserts on SQLite take a third less time in batches of 4,000 than 1,000;
#: but each device waiting costs ~5 KB (100k-device first sync peak RSS: 129 / 138 / 149 MB at 1,000 / 2,000 /
#: 4,000), so 2,000.
APPLY_EVERY = 2000


def streams(snapshot: Snapshot, entities: Sequence[str], *, dry_run: bool) -> bool:
    """Whether a run may apply its devices as they are planned: an applying run importing assets while this
    integration links none yet (a first sync). Then no asset can go missing, so the mass-deactivation guard,
    which needs the whole fetch, cannot stop the run after its devices were written."""
    return not dry_run and "assets" in entities and not snapshot.has_asset_links()


@dataclass
class _Kept:
    """A plan row kept for the run's detail: where it sorts (section, position), the op, status and error."""

    key: tuple[int, int]
    op: Op
    status: str
    error: str


@dataclass
class StreamedApply:
    """The planner's sink for a streamed run: applies each batch at once (one `Applier` for the whole run) and
    keeps only what the run's record needs — counts, failed rows, the first `cap` changed rows, warnings — so
    memory follows the batch, not the estate. Positions are those the whole plan would give the rows."""

    run: SyncRun
    integration: Integration
    actor: Actor
    late: LateCheck | None
    cap: int
    progress: Progress | None = None
    applier: Applier = field(init=False)
    tally: Counter[tuple[str, str]] = field(default_factory=Counter)
    failed_by_entity: Counter[str] = field(default_factory=Counter)
    kept: list[_Kept] = field(default_factory=list)
    kept_changed: int = 0
    last_kept: int = -1  # the highest device position kept
    changed: int = 0
    value_warnings: int = 0
    examples: dict[str, None] = field(default_factory=dict)
    deferred: int = 0
    rows_written: int = 0
    head: int = 0  # ops before the devices (customers, sites, users, new asset types and fields)
    devices: int = 0  # the highest device position + 1
    tail: int = 0  # ops after the devices (missing devices)
    applied_devices: int = 0
    pending: list[tuple[tuple[int, int], Op]] = field(default_factory=list)  # handed, not yet applied
    pending_devices: int = 0

    def __post_init__(self) -> None:
        self.applier = Applier(self.integration, self.actor, now=self.run.started_at, run_id=self.run.pk,
                               late=self.late)

    def __call__(self, batch: Sequence[tuple[int, Op]]) -> None:
        """Take one batch handed by the planner: (position among the devices, or -1 before them; op). It is applied
        once APPLY_EVERY devices wait (or at `flush`), in the order handed."""
        for position, op in batch:
            if position < 0:
                self.pending.append(((0, self.head), op))
                self.head += 1
            else:
                self.pending.append(((1, position), op))
                self.devices = max(self.devices, position + 1)
                self.pending_devices += 1
        if self.pending_devices >= APPLY_EVERY:
            self.flush()

    def flush(self) -> None:
        """Apply every op handed and not yet applied."""
        pending, devices = self.pending, self.pending_devices
        self.pending, self.pending_devices = [], 0
        self._apply([key for key, _ in pending], [op for _, op in pending])
        self.applied_devices += devices
        if devices and self.progress:
            self.progress("assets", self.applied_devices, 0)

    def apply_rest(self, ops: Sequence[Op]) -> None:
        """Apply what the end of the fetch decided (missing devices), after every device."""
        self.flush()
        keys = [(2, self.tail + i) for i in range(len(ops))]
        self.tail += len(ops)
        self._apply(keys, list(ops))

    def _apply(self, keys: list[tuple[int, int]], ops: list[Op]) -> None:
        if not ops:
            return
        result = self.applier.run_batch(ops)
        self.deferred += result.deferred
        self.rows_written += result.rows_written
        for index, (key, op) in enumerate(zip(keys, ops, strict=True)):
            error = result.errors.get(index)
            if op.warnings:
                self.value_warnings += len(op.warnings)
                for warning in op.warnings:
                    if len(self.examples) < 3:
                        self.examples.setdefault(warning)
            if op.kind is not OpKind.UNCHANGED:
                self.changed += 1
            if error is not None:
                self.failed_by_entity[op.entity] += 1
                self.kept.append(_Kept(key, op, RowStatus.FAILED.value, error))
                continue
            if index in result.applied:
                self.tally[(op.entity, COUNT_KEY_OF[op.kind])] += 1
            # device rows arrive in position order but for the held-back ones (at the end): the first `cap` changed
            # rows, and any later row placed before them, hold every row store_rows can keep
            if op.kind is not OpKind.UNCHANGED and (key[0] != 1 or self.kept_changed < self.cap
                                                    or key[1] < self.last_kept):
                self.kept.append(_Kept(key, op, RowStatus.APPLIED.value, ""))
                if key[0] == 1:
                    self.kept_changed += 1
                    self.last_kept = max(self.last_kept, key[1])

    def finish(self) -> None:
        """Link parents and show fields once every batch is in."""
        self.flush()
        self.rows_written += self.applier.finish()

    def counts(self, entities: Sequence[str]) -> dict[str, dict[str, int]]:
        result = {entity: empty_counts() for entity in entities}
        for (entity, key), number in self.tally.items():
            if entity in result:
                result[entity][key] = number
        for entity, number in self.failed_by_entity.items():
            if entity in result:
                result[entity]["errors"] += number
        return result

    def position(self, key: tuple[int, int]) -> int:
        """The row's position in the whole plan: the ops before the devices, the devices, then the rest."""
        section, number = key
        return number if section == 0 else self.head + number if section == 1 else self.head + self.devices + number

    def errors(self, limit: int) -> list[str]:
        failed = sorted((k for k in self.kept if k.error), key=lambda k: k.key)
        return [f"{k.op.entity} '{k.op.label}': {k.error}" for k in failed][:limit]

    def store_rows(self) -> None:
        """Keep the rows a person may look at, as an applied run does: the first `cap` changed rows and every
        failed one."""
        rows: list[SyncPlanRow] = []
        kept = 0
        for row in sorted(self.kept, key=lambda k: k.key):
            if not row.error and kept >= self.cap:
                continue
            kept += 1
            op = row.op
            rows.append(SyncPlanRow(run=self.run, position=self.position(row.key), entity=op.entity,
                                    kind=op.kind.value, external_id=op.external_id[:255], label=op.label[:255],
                                    reason=op.reason[:500], op=op.to_dict(), status=row.status, error=row.error))
            if len(rows) >= ROW_BATCH:
                SyncPlanRow.objects.bulk_create(rows)
                rows = []
        SyncPlanRow.objects.bulk_create(rows)
