"""Drain the mail spool (`rmmbridge mailgate --spool`): claim each file, store it raw, delete it, then process it."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from django.db import DatabaseError, InterfaceError, OperationalError, transaction

from rmmbridge.alerts.models import AlertEvent, Channel
from rmmbridge.alerts.processing import Outcome, process_event, store_event
from rmmbridge.common import spool
from rmmbridge.common.home import resolve_home

log = logging.getLogger(__name__)

#: What the stored event's headers say about where it came from (and which spool file it was).
INTAKE_HEADER = "x-rmmbridge-intake"
FILE_HEADER = "x-rmmbridge-spool-file"


def default_root() -> str:
    """`$RMMBRIDGE_HOME/spool/mail` (RMMBRIDGE_MAIL_SPOOL overrides it)."""
    return os.environ.get("RMMBRIDGE_MAIL_SPOOL", "").strip() or spool.spool_root(resolve_home())


@dataclass
class DrainResult:
    """One pass over the spool: events stored, files moved to failed/, and files left for a later pass."""

    stored: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def message(self) -> str:
        text = f"Mail spool: {len(self.stored)} message(s) stored"
        if self.failed:
            text += f", {len(self.failed)} moved to failed/ (see the .reason files)"
        if self.deferred:
            text += f", {self.deferred} left for the next pass (database unavailable)"
        return text + "."


def _store(claimed: str, name: str) -> AlertEvent | str | None:
    """The stored event; a reason (str) when the file can never be stored; None when the database is busy now."""
    try:
        with open(claimed, "rb") as handle:
            raw = handle.read(spool.MAX_MESSAGE_BYTES + 1)
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    problem = spool.mail_problem(raw)
    if problem:
        return problem
    try:
        with transaction.atomic():
            return store_event(Channel.EMAIL, raw, headers={INTAKE_HEADER: "spool", FILE_HEADER: name})
    except (OperationalError, InterfaceError) as exc:  # locked or unreachable: try again on the next pass
        log.warning("mail spool: %s not stored now (%s); kept for the next pass", name, exc)
        return None
    except DatabaseError as exc:
        return f"the database refused the message: {exc}"


def drain(root: str | None = None, *, limit: int = 500, process: bool = True) -> DrainResult:
    """One pass over new/: each file is claimed by an atomic rename (two drainers never store one file twice),
    stored raw in its own transaction and only then deleted; a file that cannot be stored goes to failed/ with
    a `.reason` file. Stored events are processed after the pass, as any alert e-mail.
    """
    base = root or default_root()
    result = DrainResult()
    if not os.path.isdir(os.path.join(base, "new")):
        return result
    spool.recover_stale(base)
    events: list[AlertEvent] = []
    busy = False
    for name in spool.pending_names(base, limit):
        claimed = spool.claim(base, name)
        if claimed is None:
            continue  # another drainer took it
        stored = _store(claimed, name)
        if stored is None:
            spool.release(base, claimed)
            busy = True
            break
        if isinstance(stored, str):
            log.error("mail spool: %s moved to failed/: %s", name, stored)
            spool.fail(base, claimed, stored)
            result.failed.append(name)
            continue
        os.unlink(claimed)
        events.append(stored)
        result.stored.append(int(stored.pk))
    if busy:
        result.deferred = len(spool.pending_names(base, limit))
    if process:
        for event in events:
            try:
                result.outcomes.append(process_event(event))
            except Exception:  # stored and committed: `rmmbridge alerts process-pending` picks it up
                log.exception("mail spool: event %s stored but not processed", event.pk)
    return result
