"""Plain data of what exists locally: the objects the planner reads and the snapshot that holds them (no Django)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rmmbridge.connectors.rawcheck import KnownLinks


@dataclass(frozen=True)
class LocalCustomer:
    id: int
    name: str
    main_site_id: int | None


@dataclass(frozen=True)
class LocalSite:
    id: int
    customer_id: int
    name: str
    is_main: bool = False


@dataclass(frozen=True)
class LocalUser:
    id: int
    customer_id: int
    site_id: int
    name: str
    email: str = ""


@dataclass(frozen=True)
class LocalAssetType:
    id: int
    name: str


@dataclass(frozen=True)
class LocalField:
    """A field definition: key (`name` / `CF<name>`), label, data type, choices."""

    key: str
    label: str
    data_type: str = "text"
    choices: tuple[str, ...] = ()


@dataclass(slots=True)
class LocalAsset:
    id: int
    name: str
    asset_type_id: int
    site_id: int
    customer_id: int
    active: bool = True
    values: dict[str, Any] = field(default_factory=dict)
    locally_edited: tuple[str, ...] = ()
    end_user_id: int | None = None
    parent_id: int | None = None
    #: Field key → id of the integration whose sync wrote the current value (None: a local or other write).
    writers: dict[str, int | None] = field(default_factory=dict)
    created_by: int | None = None  # the integration whose sync created the asset
    linked: tuple[int, ...] = ()  # integrations linking it (ExternalRef of kind asset)


@dataclass(frozen=True, slots=True)
class AssetBrief:
    """What a no-change resync needs of a linked asset: that it exists, its name and whether it is active."""

    id: int
    name: str
    active: bool = True


#: Loads full local assets by id (the snapshot's on-demand reader; None when everything is loaded up front).
AssetLoader = Callable[[Collection[int]], Iterable[LocalAsset]]
LinkRow = tuple[str, int, str, str | None, Any, datetime | None]
#: Reads this integration's asset links as LinkRows: all of them (None), or those of the given external ids.
LinkReader = Callable[[Collection[str] | None], Iterable[LinkRow]]
#: Asset links read per query when a batch of devices asks for theirs.
LINK_BATCH = 500


@dataclass(frozen=True, slots=True)
class LocalRef:
    """An ExternalRef of this integration."""

    kind: str
    external_id: str
    object_id: int
    fingerprint: str = ""
    missing_since: datetime | None = None


@dataclass
class Snapshot:
    """What exists locally, as plain data.

    The asset links of an integration are as many as its devices, so a snapshot read from the database
    (`read_links` set) holds none of them for the whole run: a batch of devices reads its own links and assets
    (`require_links`, `require_assets`) and lets them go once planned (`forget_links`); what needs every link —
    the connector's raw check (`known_links`), the missing devices (`asset_links`) — reads them as a stream. A
    snapshot built by hand holds its links in `refs` and `briefs`; the planner reads both the same way.
    """

    customers: dict[int, LocalCustomer] = field(default_factory=dict)
    sites: dict[int, LocalSite] = field(default_factory=dict)
    users: dict[int, LocalUser] = field(default_factory=dict)
    asset_types: dict[int, LocalAssetType] = field(default_factory=dict)
    fields: dict[str, LocalField] = field(default_factory=dict)
    assets: dict[int, LocalAsset] = field(default_factory=dict)
    refs: dict[tuple[str, str], LocalRef] = field(default_factory=dict)
    #: Assets linked to this integration whose details (values…) are read only when their RMM record changed.
    briefs: dict[int, AssetBrief] = field(default_factory=dict)
    load_assets: AssetLoader | None = None
    #: Every integration: id → (source priority, name); decides which one owns a field of a shared asset.
    integrations: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: Reads the asset links from the database (None: they are all in `refs` and `briefs`).
    read_links: LinkReader | None = None
    #: Whether this integration linked any asset when the snapshot was read (with `read_links`).
    linked_any: bool = False
    #: Reads what only the asset planner needs (the other assets, to match): run by `complete()`, once the
    #: connector was armed with `known_links`, so that its fetch never waits for it.
    rest: Callable[[], None] | None = None
    #: With `read_links`: the refs, briefs and assets read for the batch being planned (`forget_links` drops them).
    _paged_refs: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _paged_assets: set[int] = field(default_factory=set, repr=False)
    _absent: set[str] = field(default_factory=set, repr=False)

    def complete(self) -> None:
        """Read the rest of the snapshot now, if it was deferred (once)."""
        rest, self.rest = self.rest, None
        if rest is not None:
            rest()

    def has_asset_links(self) -> bool:
        """Whether this integration links any asset yet (a first sync when not)."""
        return self.linked_any if self.read_links is not None else any(kind == "asset" for kind, _ in self.refs)

    def asset_links(self) -> Iterator[tuple[LocalRef, AssetBrief | LocalAsset | None]]:
        """Every asset link with its asset's brief (None when the asset no longer exists), read as a stream."""
        if self.read_links is None:
            for (kind, _), ref in list(self.refs.items()):
                if kind == "asset":
                    yield ref, self.brief(ref.object_id)
            return
        if not self.linked_any:
            return
        for external_id, object_id, fp, name, active, missing_since in self.read_links(None):
            yield (LocalRef("asset", external_id, object_id, fp, missing_since),
                   None if name is None else AssetBrief(object_id, name, bool(active)))

    def known_links(self, prefix: str) -> KnownLinks:
        """The asset links whose asset exists, not missing, fingerprinted under the settings key `prefix` (what a
        connector's RawCheck recognises unchanged devices by)."""
        return KnownLinks((ref.external_id, ref.fingerprint, ref.object_id) for ref, brief in self.asset_links()
                          if brief is not None and ref.missing_since is None and ref.fingerprint.startswith(prefix))

    def require_links(self, external_ids: Iterable[str]) -> None:
        """Read the asset links (refs and briefs) of these external ids, for the batch being planned."""
        if self.read_links is None or not self.linked_any:
            return
        wanted = list(dict.fromkeys(e for e in external_ids if ("asset", e) not in self.refs and e not in self._absent))
        for start in range(0, len(wanted), LINK_BATCH):
            chunk = wanted[start:start + LINK_BATCH]
            self._absent.update(chunk)
            for external_id, object_id, fp, name, active, missing_since in self.read_links(chunk):
                key = ("asset", external_id)
                self.refs[key] = LocalRef("asset", external_id, object_id, fp, missing_since)
                self._paged_refs.append(key)
                self._absent.discard(external_id)
                if name is not None:
                    self.briefs[object_id] = AssetBrief(object_id, name, bool(active))

    def forget_links(self) -> None:
        """Let go of what `require_links` and `require_assets` read for the batches planned so far."""
        for key in self._paged_refs:
            ref = self.refs.pop(key, None)
            if ref is not None:
                self.briefs.pop(ref.object_id, None)
        for asset_id in self._paged_assets:
            self.assets.pop(asset_id, None)
        self._paged_refs.clear()
        self._paged_assets.clear()
        self._absent.clear()

    def ref(self, kind: str, external_id: str | None) -> LocalRef | None:
        """A link by external id; an asset link not read for this batch is read now."""
        if external_id is None:
            return None
        found = self.refs.get((kind, external_id))
        if found is None and kind == "asset" and self.read_links is not None:
            self.require_links((external_id,))
            found = self.refs.get((kind, external_id))
        return found

    def brief(self, asset_id: int) -> LocalAsset | AssetBrief | None:
        """Name and active flag of a local asset, loaded in full or not; None when it no longer exists."""
        return self.assets.get(asset_id) or self.briefs.get(asset_id)

    def asset(self, asset_id: int) -> LocalAsset | None:
        """The asset in full, read on demand when only its brief is loaded (or, with `read_links`, not at all)."""
        found = self.assets.get(asset_id)
        if found is None and (asset_id in self.briefs or self.read_links is not None):
            self._load((asset_id,))
            found = self.assets.get(asset_id)
        return found

    def require_assets(self, asset_ids: Iterable[int]) -> None:
        """Read the given briefly-known assets in full, in one batch (no-op for those already loaded)."""
        self._load([i for i in asset_ids if i in self.briefs and i not in self.assets])

    def _load(self, wanted: Collection[int]) -> None:
        if not wanted or self.load_assets is None:
            return
        for asset in self.load_assets(wanted):
            self.assets[asset.id] = asset
            if self.read_links is not None:
                self._paged_assets.add(asset.id)
        for asset_id in wanted:  # one that vanished meanwhile is gone, not half-known
            self.briefs.pop(asset_id, None)
