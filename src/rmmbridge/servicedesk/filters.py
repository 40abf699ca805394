"""Asset list filtering, search and a count-free paginator that stays fast with 100,000 assets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet, TextField
from django.db.models.functions import Cast

from rmmbridge.servicedesk.fieldtypes import DataType
from rmmbridge.servicedesk.models import Asset, FieldDefinition

PAGE_SIZE = 50
COUNT_CAP = 1000
SEARCHABLE_TYPES = (DataType.TEXT.value, DataType.CHOICE.value)

M = TypeVar("M", bound=Model)


def _int(value: str | None) -> int | None:
    """An integer from a query parameter, or None when absent or not a number."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass
class AssetFilters:
    """The asset list's filters as parsed from the query string (bad values are ignored, not errors)."""

    customer: int | None = None
    site: int | None = None
    asset_type: int | None = None
    active: bool | None = True
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> AssetFilters:
        active_raw = (params.get("active") or "yes").strip().lower()
        active = {"yes": True, "no": False, "any": None}.get(active_raw, True)
        return cls(
            customer=_int(params.get("customer")),
            site=_int(params.get("site")),
            asset_type=_int(params.get("type")),
            active=active,
            q=(params.get("q") or "").strip()[:200],
        )

    @property
    def active_param(self) -> str:
        return {True: "yes", False: "no", None: "any"}[self.active]

    def search_keys(self) -> list[str]:
        """Value keys searched as text: every text or choice field (e.g. hostname, serial number)."""
        return [d.key for d in FieldDefinition.objects.filter(data_type__in=SEARCHABLE_TYPES).only("name", "kind")]

    def apply(self, queryset: QuerySet[Asset], search_keys: Sequence[str] | None = None) -> QuerySet[Asset]:
        """Narrow `queryset` by every filter that is set."""
        if self.customer is not None:
            queryset = queryset.filter(customer_id=self.customer)
        if self.site is not None:
            queryset = queryset.filter(site_id=self.site)
        if self.asset_type is not None:
            queryset = queryset.filter(asset_type_id=self.asset_type)
        if self.active is not None:
            queryset = queryset.filter(active=self.active)
        if self.q:
            keys = self.search_keys() if search_keys is None else search_keys
            in_values = Q()
            for key in keys:
                # Keys are validated identifiers (letters, digits, underscores), safe as lookup paths.
                in_values |= Q(**{f"values__{key}__icontains": self.q})
            if keys and _plain_text(self.q):
                # One cheap LIKE over the stored JSON text first; the exact per-field test runs only on the
                # rows that pass it (JSON escapes quotes, backslashes and non-ASCII, so only for plain text).
                queryset = queryset.alias(values_text=Cast("values", TextField()))
                in_values = Q(values_text__icontains=self.q) & in_values
            condition = Q(name__icontains=self.q) | Q(asset_tag__icontains=self.q)
            queryset = queryset.filter(condition | in_values if keys else condition)
        return queryset


def _plain_text(text: str) -> bool:
    """Printable ASCII without characters JSON would escape."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


@dataclass
class CheapPage(Generic[M]):
    """One page of results, found without counting the whole table."""

    number: int
    items: list[M]
    has_next: bool
    page_size: int
    total: int | None = None
    total_capped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.page_size + len(self.items)

    @property
    def total_label(self) -> str:
        """'1,000+' when the count was capped, else the exact number."""
        if self.total is None:
            return ""
        return f"{self.total:,}+" if self.total_capped else f"{self.total:,}"


def cheap_page(
    queryset: QuerySet[M], page: str | int | None, page_size: int = PAGE_SIZE, *, count: bool = True
) -> CheapPage[M]:
    """Fetch page `page` (1-based) with one extra row to know whether a next page exists.

    The total is counted only up to COUNT_CAP rows (a LIMITed subquery), so a list of 100,000 assets
    never pays for a full COUNT(*); with count=False (searches, which scan anyway) it is not counted at all.
    """
    number = max(_int(str(page)) or 1, 1)
    offset = (number - 1) * page_size
    rows = list(queryset[offset : offset + page_size + 1])
    has_next = len(rows) > page_size
    items = rows[:page_size]
    if number == 1 and not has_next:
        total, capped = len(items), False
    elif not count:
        return CheapPage(number=number, items=items, has_next=has_next, page_size=page_size)
    else:
        total = queryset.order_by().values("pk")[: COUNT_CAP + 1].count()
        capped = total > COUNT_CAP
        total = min(total, COUNT_CAP)
    return CheapPage(number=number, items=items, has_next=has_next, page_size=page_size, total=total,
                     total_capped=capped)
