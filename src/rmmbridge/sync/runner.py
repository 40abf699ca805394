"""run_sync: fetch, plan, guard, apply and record one SyncRun; apply stored preview rows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db.models import Q

from rmmbridge.common.clock import utcnow
from rmmbridge.common.gcpause import bulk_work
from rmmbridge.common.prefetch import Prefetched
from rmmbridge.connectors.base import Capability, Connector
from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorError, ConnectorRetryableError
from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.connectors.rawcheck import KnownDevice, KnownLinks, RawCheck
from rmmbridge.connectors.records import RemoteDevice
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import AuditSource
from rmmbridge.sync.apply import ApplyResult, LateCheck, apply_ops
from rmmbridge.sync.models import RowStatus, SyncPlanRow, SyncRun, SyncStatus, SyncTrigger
from rmmbridge.sync.plan import ENTITIES, Op, OpKind, Plan, SyncSettings, count_ops, empty_counts
from rmmbridge.sync.planner import RemoteData, build_plan, raw_sources
from rmmbridge.sync.snapshot import load_settings, load_snapshot
from rmmbridge.sync.streaming import StreamedApply, streams

logger = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
T = TypeVar("T")
ROW_BATCH = 2000
#: Rows kept in an applied run's detail (a preview keeps all of them, to apply from).
APPLIED_ROW_CAP = 1000
#: HTTP retry policy for sync fetches; None = the connector layer's default (tests set a fast one).
RETRY: RetryPolicy | None = None
MAX_ERRORS = 200
#: Devices are fetched ahead in a background thread by up to PREFETCH_DEPTH chunks of PREFETCH_CHUNK. A first sync
#: writes slower than it fetches, so the buffer is full all the time: 40 chunks (10,000 devices) held 14 MB more at
#: the peak than 8 chunks, for the same speed (100k-device bench); a resync drains it faster than pages arrive.
PREFETCH_CHUNK = 250
PREFETCH_DEPTH = 8


def parse_entities(entities: Iterable[str] | None) -> list[str]:
    """Validate entity names; None or empty means all of them."""
    chosen = [e.strip().lower() for e in (entities or ()) if e.strip()]
    unknown = [e for e in chosen if e not in ENTITIES]
    if unknown:
        raise ValueError(f"Unknown entity {', '.join(unknown)}: choose from {', '.join(ENTITIES)}.")
    return [e for e in ENTITIES if e in chosen] if chosen else list(ENTITIES)


def _actor(trigger: str, actor_label: str, user: Any = None) -> Actor:
    label = actor_label or f"sync ({trigger})"
    if trigger == SyncTrigger.UI and user is not None:
        return Actor(AuditSource.SYNC, user, label)
    return Actor.sync(label)


def _counted(items: Iterable[T], stage: str, progress: Progress | None,
             note: Callable[[], tuple[str, int, int] | None] | None = None) -> Iterator[T]:
    count = 0
    for item in items:
        count += 1
        if progress and count % 250 == 0:
            current = note() if note is not None else None  # e.g. ("audits (~14 min left)", 1200, 10000)
            if current is not None:
                progress(*current)
            else:
                progress(stage, count, 0)
        yield item
    if progress:
        progress(stage, count, count)


def fetch(connector: Connector, entities: Sequence[str], progress: Progress | None = None) -> RemoteData:
    """Fetch customers, sites and users (devices stream separately, see `streaming_devices`).

    An entity is 'complete' only when no record was skipped as malformed.
    """
    remote = RemoteData()
    if connector.supports(Capability.SITES):
        remote.sites = list(_counted(connector.iter_sites(), "fetch sites", progress))
    if connector.supports(Capability.CUSTOMERS) and not connector.sites_are_customers:
        remote.customers = list(_counted(connector.iter_customers(), "fetch customers", progress))
    remote.complete.update({"customers", "sites"})
    if "users" in entities and connector.supports(Capability.USERS):
        remote.users = list(_counted(connector.iter_users(), "fetch users", progress))
        remote.complete.add("users")
    return remote


@contextmanager
def streaming_devices(connector: Connector, remote: RemoteData, entities: Sequence[str],
                      progress: Progress | None = None, settings: SyncSettings | None = None) -> Iterator[None]:
    """Start fetching devices in a background thread now and set `remote.devices` to their stream.

    The pages are requested while this thread reads the local snapshot and plans the devices already received,
    so a resync takes little more than the fetch itself; devices are planned as they arrive, never all held in
    memory. 'assets' counts as complete once the stream was read to its end with no malformed record skipped.
    With `settings`, a connector that names its raw keys (`raw_keys`) gets a RawCheck: once the planner armed it,
    devices whose raw item is unchanged since their last import arrive as KnownDevice, never normalised.
    Leaving the block stops the fetch.
    """
    if "assets" not in entities or not connector.supports(Capability.DEVICES):
        yield
        return
    before = connector.skipped_records
    keys = connector.raw_keys(raw_sources(settings)) if settings is not None else None
    check = RawCheck(keys, with_macs=any("mac" in r.field.lower() for r in settings.match_rules)) \
        if keys and settings is not None else None
    remote.arm = check.arm if check is not None else None
    pages = Prefetched(connector.iter_device_records(check), chunk=PREFETCH_CHUNK, depth=PREFETCH_DEPTH,
                       name="sync-fetch")

    def stream() -> Iterator[RemoteDevice | KnownDevice]:
        yield from _counted(pages, "fetch devices", progress, connector.progress_note)
        if connector.skipped_records == before:
            remote.complete.add("assets")

    remote.devices = stream()
    with pages:
        try:
            yield
        finally:
            if check is not None:  # the fetch thread may wait for the planner's arm: let it finish first
                check.release()


def _counts(ops: Sequence[Op], entities: Sequence[str], errors: Iterable[Op] = (),
            idle: dict[str, int] | None = None) -> dict[str, dict[str, int]]:
    tally = count_ops(ops, idle)
    result = {entity: tally.get(entity, empty_counts()) for entity in entities}
    for op in errors:
        if op.entity in result:
            result[op.entity]["errors"] += 1
    return result


def _store_rows(run: SyncRun, ops: Sequence[Op], statuses: dict[int, tuple[str, str]] | None = None,
                cap: int | None = None) -> None:
    """Keep the plan rows a person may look at (everything but unchanged records; failed rows always)."""
    rows: list[SyncPlanRow] = []
    kept = 0
    for position, op in enumerate(ops):
        failed = bool(statuses and statuses.get(position, ("", ""))[1])
        if op.kind is OpKind.UNCHANGED and not failed:
            continue
        if cap is not None and kept >= cap and not failed:
            continue
        kept += 1
        status, error = (statuses or {}).get(position, (RowStatus.PLANNED, ""))
        rows.append(SyncPlanRow(run=run, position=position, entity=op.entity, kind=op.kind.value,
                                external_id=op.external_id[:255], label=op.label[:255], reason=op.reason[:500],
                                op=op.to_dict(), status=status, error=error))
        if len(rows) >= ROW_BATCH:
            SyncPlanRow.objects.bulk_create(rows)
            rows = []
    SyncPlanRow.objects.bulk_create(rows)


def _finish(run: SyncRun, status: str, **fields: Any) -> SyncRun:
    run.status = status
    run.finished_at = utcnow()
    for key, value in fields.items():
        setattr(run, key, value)
    run.save()
    return run


def _apply_and_record(run: SyncRun, integration: Integration, ops: Sequence[Op], actor: Actor,
                      entities: Sequence[str], *, incomplete: bool, progress: Progress | None,
                      late: LateCheck | None = None, idle: dict[str, int] | None = None) -> ApplyResult:
    result = apply_ops(integration, ops, actor, now=run.started_at, progress=progress, run_id=run.pk, late=late)
    if result.deferred:
        run.warnings = [*run.warnings, f"{result.deferred} device(s) match assets another sync created while this "
                        "one ran: they were not created and are linked at the next run (see the skipped rows)."]
    applied = [op for i, op in enumerate(ops) if i in result.applied]
    failed = [ops[i] for i in sorted(result.errors)]
    statuses = {i: (RowStatus.APPLIED.value, "") for i in result.applied}
    statuses.update({i: (RowStatus.FAILED.value, msg) for i, msg in result.errors.items()})
    _store_rows(run, ops, statuses, cap=APPLIED_ROW_CAP)
    if sum(1 for op in ops if op.kind is not OpKind.UNCHANGED) > APPLIED_ROW_CAP:
        run.warnings = [*run.warnings, f"Only the first {APPLIED_ROW_CAP} changed rows (and every failed one) are "
                        "kept in this run's detail; the counts cover everything."]
    errors = [f"{ops[i].entity} '{ops[i].label}': {msg}" for i, msg in sorted(result.errors.items())][:MAX_ERRORS]
    status = SyncStatus.PARTIAL if (errors or incomplete) else SyncStatus.SUCCESS
    _finish(run, status, counts=_counts(applied, entities, failed, idle), errors=errors)
    return result


def skipped_warning(skipped: int, devices_complete: bool, ops: Sequence[Op]) -> str:
    """What skipped malformed records meant for this run, saying truly whether assets were deactivated."""
    if not devices_complete:
        return (f"{skipped} malformed record(s) were skipped by the connector; the device list was incomplete, so "
                "no missing device was deactivated.")
    leaving = sum(1 for op in ops if op.entity == "assets" and op.kind in (OpKind.DEACTIVATE, OpKind.UNLINK))
    if not leaving:
        return (f"{skipped} malformed record(s) were skipped by the connector (not devices); no asset was "
                "deactivated.")
    return (f"{skipped} malformed record(s) were skipped by the connector (not devices); the device list was "
            f"complete, so {leaving} asset(s) no longer in the RMM were deactivated or unlinked (see the rows).")


@bulk_work()  # a sync of a large estate otherwise spends ~10 % of its time in full collections
def run_sync(
    integration_id: int,
    *,
    entities: Sequence[str] | None = None,
    trigger: str = "cli",
    actor_label: str = "",
    dry_run: bool = False,
    confirm: bool = False,
    progress: Callable[..., Any] | None = None,
    user: Any = None,
    device_types: Sequence[str] | None = None,
) -> SyncRun:
    """Sync one integration and return its SyncRun.

    Auth errors re-raise as ConnectorAuthError and passing errors as ConnectorRetryableError after the run
    is recorded as failed. `device_types` limits assets to those types for this run (import buttons per
    type); devices of other types still count as present. With dry_run the plan is stored (status planned)
    and nothing else is written; when
    the mass-deactivation guard trips and confirm is False, nothing is written (status needs_confirmation).
    """
    chosen = parse_entities(entities)
    integration = Integration.objects.get(pk=integration_id)
    user_model = get_user_model()
    run = SyncRun.objects.create(
        integration=integration, trigger=trigger, actor=user if isinstance(user, user_model) else None,
        actor_label=actor_label[:200], entities=chosen, dry_run=dry_run, started_at=utcnow(),
    )
    actor = _actor(trigger, actor_label or f"{integration.name} sync", user)
    streamed: StreamedApply | None = None
    try:
        from rmmbridge.integrations.connect import connector_for

        settings = load_settings(integration)
        if device_types:
            settings.import_types = [t for t in device_types if t]
            run.message = f"Device types: {', '.join(settings.import_types)}."
        with connector_for(integration, retry=RETRY) as connector:
            use_mappings = getattr(connector, "use_type_mappings", None)
            if callable(use_mappings):  # e.g. Automate fetches printers only when printers are mapped (Halo)
                use_mappings(frozenset(t.device_type for t in settings.type_maps
                                       if not t.ignore and t.asset_type_id is not None))
            remote = fetch(connector, chosen, progress)
            with streaming_devices(connector, remote, chosen, progress, settings):
                # Linked assets are read only briefly; the planner reads the details of changed ones on demand.
                snapshot_at = utcnow()  # assets other syncs create after this are checked again before creating
                snapshot = load_snapshot(integration.pk, with_assets="assets" in chosen, defer=True)
                if remote.arm is not None and not snapshot.has_asset_links():
                    remote.arm("", KnownLinks())  # a first sync: no device can be known, so the fetch need not wait
                if streams(snapshot, chosen, dry_run=dry_run):  # a first sync applies devices as they arrive
                    streamed = StreamedApply(run, integration, actor, LateCheck.of(settings, snapshot_at),
                                             APPLIED_ROW_CAP, progress)
                plan = build_plan(remote, snapshot, settings, sites_are_customers=connector.sites_are_customers,
                                  entities=chosen, now=run.started_at, sink=streamed,
                                  keep_idle=False)  # a resync's unchanged devices are counted, not held
                if streamed is not None:
                    streamed.flush()  # the last devices handed, before the run's warnings are counted
            skipped = connector.skipped_records
            unreadable = connector.field_issues.summaries()  # "N devices had unreadable fields: ipAddresses (null)"
            devices_complete = "assets" in remote.complete
        del remote, snapshot  # the plan is all that apply needs: keep peak memory down on large estates
        warnings = [*plan.warnings, *unreadable]
        if skipped:
            warnings.append(skipped_warning(skipped, devices_complete, plan.ops))
            run.message = " ".join(filter(None, [run.message, warnings[-1]]))
        value_warnings = [w for op in plan.ops for w in op.warnings]
        found = len(value_warnings) + (streamed.value_warnings if streamed is not None else 0)
        if found:
            first = [*(streamed.examples if streamed is not None else ()), *value_warnings]
            examples = "; ".join(list(dict.fromkeys(first))[:3])
            warnings.append(f"{found} value(s) did not fit their field and were left out "
                            f"(see the rows), e.g. {examples}")
        run.warnings = warnings
        if streamed is not None:
            return _finish_streamed(run, streamed, plan, chosen, incomplete=bool(skipped), confirm=confirm)
        counts = _counts(plan.ops, chosen, idle=plan.idle)
        if dry_run:
            _store_rows(run, plan.ops)
            return _finish(run, SyncStatus.PLANNED, counts=counts, message=plan.guard_message or run.message)
        if plan.needs_confirmation and not confirm:
            _store_rows(run, plan.ops)
            return _finish(run, SyncStatus.NEEDS_CONFIRMATION, counts=counts, message=plan.guard_message)
        _apply_and_record(run, integration, plan.ops, actor, chosen, incomplete=bool(skipped), progress=progress,
                          late=LateCheck.of(settings, snapshot_at), idle=plan.idle)
        return run
    except (ConnectorAuthError, ConnectorRetryableError) as exc:
        _finish(run, SyncStatus.FAILED, errors=[f"{exc.key}: {exc.message}"],
                message=_cut_short(run, streamed, chosen, exc.message))
        raise
    except ConnectorError as exc:
        return _finish(run, SyncStatus.FAILED, errors=[f"{exc.key}: {exc.message}"],
                       message=_cut_short(run, streamed, chosen, exc.message))
    except Exception as exc:
        logger.exception("sync of integration %s failed", integration_id)
        _finish(run, SyncStatus.FAILED, errors=[f"{type(exc).__name__}: {exc}"],
                message=_cut_short(run, streamed, chosen, str(exc)))
        raise


def _cut_short(run: SyncRun, streamed: StreamedApply | None, entities: Sequence[str], message: str) -> str:
    """A failed run's message; a streamed first sync that failed part-way says what it imported before (those
    batches are committed, their rows kept; the next run links them and goes on)."""
    if streamed is None:
        return message
    try:  # the devices planned before the failure and still waiting for their batch are applied as well
        streamed.flush()
    except Exception:  # the run's own failure is what gets reported
        logger.exception("sync of integration %s: applying the devices planned before it failed", run.integration_id)
    if not (streamed.applied_devices or streamed.head):
        return message
    run.counts = streamed.counts(entities)
    streamed.store_rows()
    return (f"{message} Before that, this first sync applied {streamed.applied_devices} device row(s) (see the "
            "counts); the next run goes on from there.")


def _finish_streamed(run: SyncRun, streamed: StreamedApply, plan: Plan, entities: Sequence[str], *,
                     incomplete: bool, confirm: bool) -> SyncRun:
    """End a streamed run: apply what needed the whole fetch (under the guard), link parents, record the run."""
    if plan.needs_confirmation and not confirm:  # not reached by a first sync (nothing is linked), kept as a rule
        run.warnings = [*run.warnings, plan.guard_message]
    else:
        streamed.apply_rest(plan.ops)
    streamed.finish()
    if streamed.deferred:
        run.warnings = [*run.warnings, f"{streamed.deferred} device(s) match assets another sync created while "
                        "this one ran: they were not created and are linked at the next run (see the skipped rows)."]
    streamed.store_rows()
    if streamed.changed > APPLIED_ROW_CAP:
        run.warnings = [*run.warnings, f"Only the first {APPLIED_ROW_CAP} changed rows (and every failed one) are "
                        "kept in this run's detail; the counts cover everything."]
    errors = streamed.errors(MAX_ERRORS)
    status = SyncStatus.PARTIAL if (errors or incomplete or (plan.needs_confirmation and not confirm)) \
        else SyncStatus.SUCCESS
    return _finish(run, status, counts=streamed.counts(entities), errors=errors)


def apply_rows(run: SyncRun, row_ids: Sequence[int] | None = None, *, trigger: str = SyncTrigger.UI,
               actor_label: str = "", user: Any = None) -> SyncRun:
    """Apply all (row_ids None) or the selected planned rows of a stored preview, as a new SyncRun."""
    rows = run.rows.filter(status=RowStatus.PLANNED).order_by("position")
    if row_ids is not None:  # new asset types and fields the chosen rows may need always come along
        rows = rows.filter(Q(pk__in=list(row_ids)) | Q(entity__in=("fields", "asset_types")))
    chosen = list(rows)
    ops = [Op.from_dict(row.op) for row in chosen]
    user_model = get_user_model()
    new_run = SyncRun.objects.create(
        integration=run.integration, trigger=trigger, actor=user if isinstance(user, user_model) else None,
        actor_label=actor_label[:200], entities=run.entities, started_at=utcnow(),
        message=f"Applied {len(ops)} row(s) of preview #{run.pk}.",
    )
    actor = _actor(trigger, actor_label or f"{run.integration.name} sync", user)
    result = _apply_and_record(new_run, run.integration, ops, actor, run.entities, incomplete=False, progress=None,
                               late=LateCheck.of(load_settings(run.integration), run.started_at))
    done = [row.pk for i, row in enumerate(chosen) if i in result.applied]
    SyncPlanRow.objects.filter(pk__in=done).update(status=RowStatus.APPLIED)
    for i, message in result.errors.items():
        SyncPlanRow.objects.filter(pk=chosen[i].pk).update(status=RowStatus.FAILED, error=message)
    return new_run
