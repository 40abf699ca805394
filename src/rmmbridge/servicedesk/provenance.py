"""Field provenance of an asset: which source wrote each value, in which run and when (pure, no Django)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Asset.provenance is {"sources": [entry, …], "fields": {field key: index into sources}}: a sync run writes one
#: entry per asset however many fields it sets, so first imports stay small.
LOCAL = "local"
SYNC = "sync"


@dataclass(frozen=True)
class Source:
    """Who wrote a value: a sync of an integration (id, name, run) or a local edit (a person), and when."""

    by: str  # "sync", "local" or another audit source (cli, api, system)
    label: str = ""
    integration_id: int | None = None
    run_id: int | None = None
    at: str = ""

    def entry(self) -> dict[str, Any]:
        data: dict[str, Any] = {"by": self.by, "label": self.label, "at": self.at}
        if self.integration_id is not None:
            data["integration"] = self.integration_id
        if self.run_id is not None:
            data["run"] = self.run_id
        return data


def stamp(provenance: dict[str, Any] | None, keys: Iterable[str], source: Source) -> dict[str, Any]:
    """A new provenance with `keys` recorded as written by `source` (sources no field refers to are dropped)."""
    wanted = [k for k in keys]
    current = provenance or {}
    sources: list[dict[str, Any]] = list(current.get("sources") or [])
    fields: dict[str, int] = dict(current.get("fields") or {})
    if not wanted:
        return {"sources": sources, "fields": fields}
    entry = source.entry()
    if sources and sources[-1] == entry:
        index = len(sources) - 1
    else:
        sources.append(entry)
        index = len(sources) - 1
    for key in wanted:
        fields[key] = index
    used = sorted(set(fields.values()))
    if len(used) != len(sources):
        renumber = {old: new for new, old in enumerate(used)}
        sources = [sources[i] for i in used]
        fields = {k: renumber[v] for k, v in fields.items()}
    return {"sources": sources, "fields": fields}


def source_of(provenance: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    """The entry that wrote a field's current value, or None when unknown (written before provenance existed)."""
    if not provenance:
        return None
    index = (provenance.get("fields") or {}).get(key)
    sources = provenance.get("sources") or []
    if not isinstance(index, int) or not 0 <= index < len(sources):
        return None
    found = sources[index]
    return found if isinstance(found, dict) else None


def writers(provenance: dict[str, Any] | None) -> dict[str, int | None]:
    """Field key → integration id that wrote its value (None: a local or other non-sync write)."""
    result: dict[str, int | None] = {}
    for key in (provenance or {}).get("fields") or {}:
        entry = source_of(provenance, key)
        if entry is None:
            continue
        result[key] = entry.get("integration") if entry.get("by") == SYNC else None
    return result


def describe(entry: dict[str, Any] | None) -> dict[str, Any]:
    """How the asset page shows a field's source: {'text', 'at', 'local'}; unknown sources say so."""
    if not entry:
        return {"text": "source not recorded", "at": "", "local": False}
    at = str(entry.get("at") or "").replace("T", " ")[:16]
    by = entry.get("by")
    label = str(entry.get("label") or "")
    if by == SYNC:
        run = entry.get("run")
        return {"text": f"{label or 'a sync'}" + (f" (run #{run})" if run else ""), "at": at, "local": False,
                "run": run}
    if by == LOCAL:
        return {"text": f"local edit by {label}" if label else "local edit", "at": at, "local": True}
    if by == "revert":
        return {"text": f"restored by {label}" if label else "restored", "at": at, "local": True}
    return {"text": f"{by}: {label}" if label else str(by), "at": at, "local": False}
