"""RawCheck: recognise a device unchanged since its last import from its raw item, before normalising it."""

from __future__ import annotations

import hashlib
import json
import threading
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

#: Width of the settings part ("salt") and of the record part of a raw fingerprint (hex digits).
SALT_WIDTH = 16
DIGEST_WIDTH = 40


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """A device whose raw item hashes to the fingerprint of its last import: it was not normalised.

    Carries only what the sync needs of an unchanged device: its id, a label, its fingerprint, the local asset its
    link names, whether the RMM marks it deleted, and (when the sync matches by MAC address) its MAC addresses,
    which still count as seen.
    """

    external_id: str
    hostname: str
    fingerprint: str
    asset_id: int
    mac_addresses: tuple[str, ...] = ()
    deleted: bool = False


def raw_digest(raw: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """A stable hash of the raw item's values at `keys` (top-level keys; nested values hash as a whole, whatever
    the order of their keys: an audit read back from a PostgreSQL jsonb cache has its keys reordered)."""
    values = [raw.get(key) for key in keys]
    try:
        text = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # what orjson cannot write (an integer past 64 bits, a key that is no string)
        text = _ENCODE(values).encode()
    return hashlib.sha1(text, usedforsecurity=False).hexdigest()[:DIGEST_WIDTH]


#: The text hashed before orjson (json.dumps with sorted keys, compact; 16 µs a Datto device against 4.3 µs):
#: orjson writes the same bytes for ASCII text, integers, booleans and nulls, so the links stamped before keep
#: their digests; a device with other text or a float hashes differently once (replanned once, its link's
#: fingerprint rewritten; no asset value changes unless the RMM's did).
_ENCODE = json.JSONEncoder(sort_keys=True, default=str, separators=(",", ":")).encode


def raw_keys_for(paths: Sequence[str], attribute_keys: Mapping[str, tuple[str, ...]],
                 base_keys: tuple[str, ...]) -> tuple[str, ...]:
    """A connector's `raw_keys`: `base_keys` (what identifies, places, types and deletes a device), the raw keys
    each normalized attribute in `paths` is read from (`attribute_keys`, which must name every RemoteDevice
    attribute) and the top-level key of each vendor path (`udf.udf1` and `fields.udf.udf1` → `udf`)."""
    keys = dict.fromkeys(base_keys)
    for path in paths:
        found = attribute_keys.get(path)
        if found is None:
            name = path[7:] if path.startswith("fields.") else path
            found = (name.split(".", 1)[0],)
        keys.update(dict.fromkeys(found))
    return tuple(keys)


def raw_id(value: Any) -> str | None:
    """A raw item's id as the connector's records spell it (`str(id)`), or None when it is no usable id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


def raw_fingerprint(salt: str, digest: str) -> str:
    """The fingerprint stored on the device's link: the settings' key, then the raw record's digest."""
    return salt[:SALT_WIDTH] + digest


class KnownLinks:
    """The links a RawCheck recognises devices by — (external id, fingerprint) → asset id — in 32 bytes or less each.

    A resync of a large estate holds one of these for the whole fetch, so it keeps no strings: each pair is kept as
    its 64-bit hash (Python's, salted per process) in an open-addressing table of two arrays, at most half full.
    Two different pairs share a hash with a chance of about n / 2**64 per device looked up (1 in 10**14 at 100,000
    links); such a device would be taken as unchanged for one run.
    """

    def __init__(self, links: Iterable[tuple[str, str, int]] = ()) -> None:
        """`links`: (external id, fingerprint, asset id ≥ 0) of each link whose asset exists, not missing."""
        self._count = 0
        self._keys: array[int] = array("q", bytes(8 * _FIRST_TABLE))
        self._ids: array[int] = array("q", [_EMPTY]) * _FIRST_TABLE
        for external_id, fingerprint, asset_id in links:
            if asset_id < 0:  # -1 marks an empty slot; database ids are never negative
                raise ValueError(f"Asset id {asset_id} of {external_id!r}: a known link needs an id of 0 or more.")
            if 2 * (self._count + 1) > len(self._ids):
                self._grow()
            self._put(hash((external_id, fingerprint)), asset_id)

    def __len__(self) -> int:
        return self._count

    def get(self, external_id: str, fingerprint: str) -> int | None:
        """The asset id of the link of `external_id` fingerprinted `fingerprint`, or None."""
        key = hash((external_id, fingerprint))
        keys, ids = self._keys, self._ids
        mask = len(ids) - 1
        slot = key & mask
        while (found := ids[slot]) != _EMPTY:
            if keys[slot] == key:
                return found
            slot = (slot + 1) & mask
        return None

    def _put(self, key: int, asset_id: int) -> None:
        keys, ids = self._keys, self._ids
        mask = len(ids) - 1
        slot = key & mask
        while ids[slot] != _EMPTY:
            if keys[slot] == key:  # the same pair twice (or a shared hash): the first stays
                return
            slot = (slot + 1) & mask
        keys[slot] = key
        ids[slot] = asset_id
        self._count += 1

    def _grow(self) -> None:
        keys, ids = self._keys, self._ids
        size = 2 * len(ids)
        self._keys = array("q", bytes(8 * size))
        self._ids = array("q", [_EMPTY]) * size
        self._count = 0
        for key, asset_id in zip(keys, ids, strict=True):
            if asset_id != _EMPTY:
                self._put(key, asset_id)


#: KnownLinks' first table size (a power of two) and the id of an empty slot.
_FIRST_TABLE = 64
_EMPTY = -1


class RawCheck:
    """What a connector needs to skip normalising unchanged devices; set up by the sync, armed once it planned.

    `keys` are the raw item's top-level keys that hold everything the sync reads (the connector's `raw_keys`); a
    connector flattens only these into `RemoteDevice.fields` and stamps each device with its `raw_digest`. `read`
    (in the fetch thread) waits until the planning thread calls `arm(salt, known)` — the pages keep arriving
    meanwhile — then a device whose (external id, `raw_fingerprint`) is in `known` comes as a `KnownDevice`.
    `release()` ends the wait without arming (every device is then normalised); the sync calls it when it stops.
    """

    def __init__(self, keys: tuple[str, ...], *, with_macs: bool = False) -> None:
        self.keys = keys
        self.keep = frozenset(keys)
        self.with_macs = with_macs
        self._armed: tuple[str, KnownLinks] | None = None
        self._ready = threading.Event()

    def arm(self, salt: str, known: KnownLinks) -> None:
        """Start recognising devices: `known` holds the links whose asset exists, not missing."""
        self._armed = (salt, known)  # one assignment: the fetch thread sees the pair whole or not at all
        self._ready.set()

    def release(self) -> None:
        """Stop waiting for `arm` (a run that ends or fails before planning devices)."""
        self._ready.set()

    def read(self, raw: Mapping[str, Any], external_id: Any, hostname: Any,
             macs: Callable[[Mapping[str, Any]], tuple[str, ...]] | None = None,
             deleted: bool | None = None) -> KnownDevice | str:
        """A KnownDevice when the raw item is unchanged since its last import, else its digest (to stamp).

        `deleted` says whether the RMM marks the device deleted (default: the raw item's `deleted` is true).
        """
        digest = raw_digest(raw, self.keys)
        if not self._ready.is_set():
            self._ready.wait()
        armed = self._armed
        if armed is None or not isinstance(external_id, str):
            return digest
        salt, known = armed
        fingerprint = raw_fingerprint(salt, digest)
        asset_id = known.get(external_id, fingerprint)
        if asset_id is None:
            return digest
        label = hostname if isinstance(hostname, str) and hostname else external_id
        return KnownDevice(external_id, label, fingerprint, asset_id,
                           mac_addresses=macs(raw) if self.with_macs and macs is not None else (),
                           deleted=raw.get("deleted") is True if deleted is None else deleted)
