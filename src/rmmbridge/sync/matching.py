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
    """True for values that never identify a device: empty, listed junk, all-zero or all-F MACs, one repeated char."""
    norm = normalise_value(key, value)
    if not norm or norm in junk or value.strip().lower() in junk:
        return True
    compact = norm.replace(" ", "").replace("-", "")
    return len(set(compact)) == 1 and compact[0] in "0fx"


@dataclass(frozen=True)
class MatchResult:
    """Outcome of matching one device: an asset id with its reason, a conflict, or nothing."""

    asset_id: int | None = None
    reason: str = ""
    conflict_ids: tuple[int, ...] = ()

    @property
    def is_conflict(self) -> bool:
        return bool(self.conflict_ids)


@dataclass
class MatchIndex:
    """Local assets indexed by the normalised values of each matching field."""

    keys: tuple[str, ...]
    junk: frozenset[str]
    by_key: dict[str, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)

    def add(self, asset_id: int, customer_id: int, key: str, value: Any) -> None:
        bucket = self.by_key.setdefault(key, {})
        for item in split_values(value):
            if is_junk(key, item, self.junk):
                continue
            bucket.setdefault(normalise_value(key, item), []).append((asset_id, customer_id))

    def candidates(self, key: str, value: Any, customer_id: int | None, within_customer: bool,
                   excluded: set[int]) -> tuple[str, list[int]]:
        """The shown value and the distinct local assets it matches (junk never matches)."""
        bucket = self.by_key.get(key, {})
        found: list[int] = []
        shown = ""
        for item in split_values(value):
            if is_junk(key, item, self.junk):
                continue
            shown = shown or item
            for asset_id, asset_customer in bucket.get(normalise_value(key, item), ()):
                if within_customer and asset_customer != customer_id:
                    continue
                if asset_id not in excluded and asset_id not in found:
                    found.append(asset_id)
        return shown, found


def describe_field(key: str, labels: dict[str, str] | None = None) -> str:
    """Readable name of a match field for reasons: 'serial number', 'hostname', or the field's label."""
    if labels and key in labels and key not in FIELD_LABELS:
        label = labels[key]
        return label[:1].lower() + label[1:] if label[1:2].islower() else label
    return FIELD_LABELS.get(key, key)


def match_asset(
    index: MatchIndex,
    rules: Iterable[tuple[str, bool]],
    wanted: dict[str, Any],
    customer_id: int | None,
    excluded: set[int],
    labels: dict[str, str] | None = None,
) -> MatchResult:
    """Try each (field key, within customer) rule in order; several matches are a conflict, never a guess."""
    for key, within_customer in rules:
        if within_customer and customer_id is None:
            continue
        shown, found = index.candidates(key, wanted.get(key), customer_id, within_customer, excluded)
        what = describe_field(key, labels)
        scope = " within the customer" if within_customer else ""
        if len(found) == 1:
            return MatchResult(found[0], f"matched by {what} '{shown}'{scope}")
        if len(found) > 1:
            ids = ", ".join(f"#{i}" for i in sorted(found)[:10])
            return MatchResult(
                None, f"{what} '{shown}'{scope} matches {len(found)} local assets ({ids}); link one by hand",
                tuple(sorted(found)),
            )
    return MatchResult()
