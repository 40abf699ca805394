"""Pure matching functions: name normalisation, junk values, and the asset match index (no Django)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LEGAL_SUFFIXES = frozenset({
    "ltd", "limited", "inc", "incorporated", "llc", "llp", "plc", "corp", "corporation", "co", "company", "gmbh",
    "ag", "bv", "nv", "sa", "sarl", "pty", "pte", "srl", "oy", "ab", "as", "kg",
})
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_MAC_HEX = re.compile(r"[^0-9a-f]")
FIELD_LABELS = {
    "name": "hostname",
    "serial_number": "serial number",
    "mac_addresses": "MAC address",
    "mac_address": "MAC address",
    "asset_tag": "asset tag",
}


def normalise_name(name: str) -> str:
    """Case, spacing, punctuation and trailing legal suffixes removed: 'Acme, Ltd.' → 'acme'."""
    words = _PUNCT.sub(" ", (name or "").lower().replace("&", " and ")).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def _is_mac_key(key: str) -> bool:
    return "mac" in key.lower()


def split_values(value: Any) -> list[str]:
    """A field value as its list of strings: lists/tuples and comma-separated text split into items."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    text = str(value).strip()
    if "," in text:
        return [part.strip() for part in text.split(",") if part.strip()]
    return [text] if text else []


def normalise_value(key: str, value: str) -> str:
    """Comparable form of a match value: lower case, trimmed; MAC addresses as 12 bare hex digits."""
    text = value.strip().lower()
    if _is_mac_key(key):
        digits = _MAC_HEX.sub("", text)
        return digits if len(digits) == 12 else text
    return " ".join(text.split())


def junk_set(junk_values: Iterable[str]) -> frozenset[str]:
    """The junk list in comparable form (lower case; MACs both as typed and as bare digits)."""
    result: set[str] = set()
    for raw in junk_values:
        text = " ".join(str(raw).strip().lower().split())
        result.add(text)
        digits = _MAC_HEX.sub("", text)
        if len(digits) == 12 and ":" in text:
            result.add(digits)
    return frozenset(result)


def is_junk(key: str, value: str, junk: frozenset[str]) -> bool:
    """True for values that never identify a device: empty, listed junk, all-zero or all-F MACs, one repeated char,
    and MAC addresses that are not one device's own (see `mac_not_unique`)."""
    norm = normalise_value(key, value)
    if not norm or norm in junk or value.strip().lower() in junk:
        return True
    compact = norm.replace(" ", "").replace("-", "")
    if len(set(compact)) == 1 and compact[0] in "0fx":
        return True
    return _is_mac_key(key) and bool(mac_not_unique(norm))


#: Identifiers that veto a weaker match when both sides have one and they differ, strongest first. No connector
#: normalises a hardware UUID yet: map a vendor's UUID field to the asset field `hardware_uuid` to use it.
STRONG_KEYS: tuple[str, ...] = ("hardware_uuid", "serial_number")

#: MAC prefixes (12 hex digits, lower case) of well-known virtual, VPN and loopback adapters: the same address is
#: found on many unrelated machines, so it never identifies one.
SHARED_MAC_PREFIXES: tuple[tuple[str, str], ...] = (
    ("02004c4f4f50", "the Microsoft loopback adapter"),
    ("00059a3c7a", "the Cisco AnyConnect virtual adapter"),
    ("025041000001", "the Palo Alto GlobalProtect virtual adapter"),
    ("0a002700", "a VirtualBox host-only adapter"),
    ("005056c000", "a VMware host-only/NAT adapter"),
    ("0242", "a Docker bridge or container adapter"),
    ("00ff", "a TAP-Windows (OpenVPN) adapter"),
)


def mac_not_unique(digits: str) -> str:
    """Why a MAC (12 bare hex digits) does not identify one device, or '' when it may."""
    if len(digits) != 12 or _MAC_HEX.search(digits):
        return ""
    if digits == "000000000000":
        return "the all-zero address"
    if digits == "ffffffffffff":
        return "the broadcast address"
    for prefix, what in SHARED_MAC_PREFIXES:
        if digits.startswith(prefix):
            return what
    first = int(digits[:2], 16)
    if first & 1:
        return "a multicast address"
    if first & 2:
        return "a locally administered (virtual, VPN or randomised) address"
    return ""


def why_not_used(key: str, value: str, junk: frozenset[str], shared: dict[str, int] | None = None) -> str:
    """Why a matching value is not used, for the preview ('' when it is used)."""
    norm = normalise_value(key, value)
    if not norm:
        return ""
    if _is_mac_key(key):
        reason = mac_not_unique(norm)
        if reason:
            return f"{reason} is not one device's own"
        if shared and shared.get(norm, 0) > 1:
            return f"{shared[norm]} devices of this fetch report it"
    if norm in junk or value.strip().lower() in junk:
        return "it is in the junk values"
    return ""


@dataclass(frozen=True)
class MatchResult:
    """Outcome of matching one device: an asset id with its reason, a conflict, or nothing.

    `notes` say why a value was not used (a shared MAC…), for the preview; `moved_from` is the customer of a
    matched asset that the device moves to another customer (only when moves are allowed).
    """

    asset_id: int | None = None
    reason: str = ""
    conflict_ids: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    moved_from: int | None = None

    @property
    def is_conflict(self) -> bool:
        return bool(self.conflict_ids)


@dataclass(slots=True)
class Candidate:
    """What the matcher knows of a local asset: its name, customer and strong identifiers (normalised)."""

    name: str
    customer_id: int
    strong: dict[str, tuple[str, str]]  # key → (normalised, as stored)


@dataclass
class MatchIndex:
    """Local assets indexed by the normalised values of each matching field."""

    keys: tuple[str, ...]
    junk: frozenset[str]
    by_key: dict[str, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)
    assets: dict[int, Candidate] = field(default_factory=dict)
    #: Normalised MAC → how many devices of this fetch report it (more than one: it identifies none of them).
    shared: dict[str, int] = field(default_factory=dict)

    def add(self, asset_id: int, customer_id: int, key: str, value: Any) -> None:
        bucket = self.by_key.setdefault(key, {})
        for item in split_values(value):
            if is_junk(key, item, self.junk):
                continue
            bucket.setdefault(normalise_value(key, item), []).append((asset_id, customer_id))

    def describe(self, asset_id: int, name: str, customer_id: int, values: dict[str, Any]) -> None:
        """Remember an asset's name, customer and strong identifiers (for vetoes and reasons)."""
        strong: dict[str, tuple[str, str]] = {}
        for key in STRONG_KEYS:
            shown = next(iter(strong_values(key, values.get(key), self.junk)), None)
            if shown is not None:
                strong[key] = (normalise_value(key, shown), shown)
        self.assets[asset_id] = Candidate(name, customer_id, strong)

    def candidates(self, key: str, value: Any, customer_id: int | None, within_customer: bool,
                   excluded: set[int], notes: list[str] | None = None) -> tuple[str, list[int]]:
        """The shown value and the distinct local assets it matches (junk and shared MACs never match)."""
        bucket = self.by_key.get(key, {})
        if not bucket and not _is_mac_key(key):  # no local asset has this field (a first sync into an empty desk)
            return "", []
        found: list[int] = []
        shown = ""
        for item in split_values(value):
            if is_junk(key, item, self.junk):
                if notes is not None:
                    why = why_not_used(key, item, self.junk)
                    if why and _is_mac_key(key):
                        notes.append(f"MAC {item} not used: {why}")
                continue
            norm = normalise_value(key, item)
            if _is_mac_key(key) and self.shared.get(norm, 0) > 1:
                if notes is not None:
                    notes.append(f"MAC {item} not used: {self.shared[norm]} devices of this fetch report it")
                continue
            shown = shown or item
            for asset_id, asset_customer in bucket.get(norm, ()):
                if within_customer and asset_customer != customer_id:
                    continue
                if asset_id not in excluded and asset_id not in found:
                    found.append(asset_id)
        return shown, found

    def count_fetched(self, key: str, value: Any) -> None:
        """Count a fetched device's MACs (a MAC reported by several devices identifies none of them)."""
        for item in split_values(value):
            norm = normalise_value(key, item)
            self.shared[norm] = self.shared.get(norm, 0) + 1


def strong_values(key: str, value: Any, junk: frozenset[str]) -> list[str]:
    """The usable values of a strong identifier (junk removed)."""
    return [item for item in split_values(value) if not is_junk(key, item, junk)]


def describe_field(key: str, labels: dict[str, str] | None = None) -> str:
    """Readable name of a match field for reasons: 'serial number', 'hostname', or the field's label."""
    if labels and key in labels and key not in FIELD_LABELS:
        label = labels[key]
        return label[:1].lower() + label[1:] if label[1:2].islower() else label
    return FIELD_LABELS.get(key, key)


def _veto(index: MatchIndex, asset_id: int, strong: dict[str, str], weaker_than: str, what: str, shown: str,
          labels: dict[str, str] | None) -> str:
    """Why a candidate found by a weaker field is refused: a stronger identifier on both sides disagrees."""
    known = index.assets.get(asset_id)
    if known is None:
        return ""
    for key in STRONG_KEYS:
        if key == weaker_than:
            return ""  # only identifiers stronger than the one that matched can veto it
        mine = strong.get(key)
        theirs = known.strong.get(key)
        if mine and theirs and normalise_value(key, mine) != theirs[0]:
            label = describe_field(key, labels).replace("serial number", "serial")
            return f"{what} '{shown}' matches {known.name or f'#{asset_id}'}, but {label} {mine} ≠ {theirs[1]}"
    return ""


def match_asset(
    index: MatchIndex,
    rules: Iterable[tuple[str, bool]],
    wanted: dict[str, Any],
    customer_id: int | None,
    excluded: set[int],
    labels: dict[str, str] | None = None,
    *,
    strong: dict[str, str] | None = None,
    allow_moves: bool = True,
    customer_names: dict[int, str] | None = None,
) -> MatchResult:
    """Try each (field key, within customer) rule in order; several matches are a conflict, never a guess.

    A candidate is refused (a conflict with its reason, never a silent new asset) when an identifier stronger than
    the matching field is present on both sides and differs (`strong`: the device's values of STRONG_KEYS), and
    when it belongs to another customer than the device's (`customer_id`) unless `allow_moves`.
    """
    notes: list[str] = []
    mine = {k: v for k, v in (strong or {}).items() if v}
    for key, within_customer in rules:
        if within_customer and customer_id is None:
            continue
        shown, found = index.candidates(key, wanted.get(key), customer_id, within_customer, excluded, notes)
        what = describe_field(key, labels)
        scope = " within the customer" if within_customer else ""
        if len(found) > 1:
            ids = ", ".join(f"#{i}" for i in sorted(found)[:10])
            return MatchResult(
                None, f"{what} '{shown}'{scope} matches {len(found)} local assets ({ids}); link one by hand",
                tuple(sorted(found)), tuple(notes),
            )
        if len(found) == 1:
            asset_id = found[0]
            vetoed = _veto(index, asset_id, mine, key, what.replace("MAC address", "MAC"), shown, labels)
            if vetoed:
                return MatchResult(None, f"{vetoed}: not merged, link by hand if it is the same device",
                                   (asset_id,), tuple(notes))
            known = index.assets.get(asset_id)
            other = known.customer_id if known is not None else None
            if customer_id is not None and other is not None and other != customer_id:
                names = customer_names or {}
                theirs = names.get(other, f"#{other}")
                if not allow_moves:
                    return MatchResult(
                        None, f"{what} '{shown}' matches {known.name if known else asset_id} of customer '{theirs}', "
                        f"but this device belongs to '{names.get(customer_id, f'#{customer_id}')}': not moved "
                        "(allow cross-customer moves in the settings, or link by hand)", (asset_id,), tuple(notes))
                return MatchResult(asset_id, f"matched by {what} '{shown}'{scope}; moves it from customer '{theirs}'",
                                   notes=tuple(notes), moved_from=other)
            return MatchResult(asset_id, f"matched by {what} '{shown}'{scope}", notes=tuple(notes))
    return MatchResult(notes=tuple(notes))
