"""Where an alert goes: its asset (indexed raw-SQL probes by RMM device id, hostname, IP) and its ticket target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rmmbridge.alerts import cache
from rmmbridge.alerts.facts.base import AlertFacts
from rmmbridge.alerts.models import AlertingConfig, AlertState
from rmmbridge.common.kept_cursor import fetch_one
from rmmbridge.common.prepared import model_rows
from rmmbridge.integrations.models import ExternalRef, RefKind
from rmmbridge.servicedesk.models import Asset, AssetType, Customer, EndUser, Site


@dataclass(frozen=True)
class Target:
    """Where a new ticket goes."""

    customer: Customer
    site: Site | None
    end_user: EndUser | None
    asset: Asset | None


def find_asset(facts: AlertFacts) -> Asset | None:
    """The asset by the alert's device id (ExternalRef), else by hostname or IP within the integration's assets.

    Each step is one indexed SQL probe that reads the asset itself (the hot path of alert intake); its customer,
    site, end user and type come from `_with_related`.
    """
    from django.db import connection

    integration = facts.integration
    if integration is not None and facts.device_external_id:
        found = _first_asset(_SQL_BY_REF, [integration.pk, RefKind.ASSET.value, facts.device_external_id])
        if found is not None:
            return found
    host = facts.hostname.strip()
    hosts = [h for h in dict.fromkeys((host, host.split(".")[0])) if h]
    by_value = _SQL_BY_VALUE_PG if connection.vendor == "postgresql" else _SQL_BY_VALUE_SQLITE
    # In order: exact name (the full hostname before the short one), name ignoring case, hostname field, IP.
    probes: list[tuple[str, list[Any]]] = [(_SQL_BY_NAME, [h]) for h in hosts]
    probes += [(_SQL_BY_NAME_ICASE, [h]) for h in hosts]
    probes += [(by_value, ["hostname", h]) for h in hosts]
    if facts.ip_address:
        probes.append((by_value, ["ip_address", facts.ip_address]))
    for sql, params in probes:
        if integration is not None:
            found = _first_asset(sql + _SQL_OWN, [*params, integration.pk, RefKind.ASSET.value])
        else:
            found = _first_asset(sql + _SQL_ANY, params)
        if found is not None:
            return found
    return None


def _first_asset(sql: str, params: list[Any]) -> Asset | None:
    found = model_rows(Asset, sql, params)
    return _with_related(found[0]) if found else None


def _with_related(asset: Asset) -> Asset | None:
    """The asset with its customer, site, end user and type.

    In a long-running receiver those four come from the cache (few rows shared by many assets; saves and deletes
    in this process clear it, other processes' changes apply within CACHE_SECONDS); elsewhere one joined read.
    """
    if not cache.enabled():
        return (Asset.objects.select_related("customer", "site", "end_user", "asset_type")
                .filter(pk=asset.pk, active=True).first())
    for name, model in (("customer", Customer), ("site", Site), ("end_user", EndUser), ("asset_type", AssetType)):
        related_id = getattr(asset, f"{name}_id")
        if related_id is not None:
            setattr(asset, name, cache.cached_row(model, related_id))
    return asset



def state_exists(scope: str, key: str) -> bool:
    """Whether an alert state exists (one indexed probe, no lock)."""
    return _one(_SQL_STATE, [scope, key]) is not None


def _one(sql: str, params: list[Any]) -> int | None:
    from django.db import connection

    row = fetch_one(connection, sql, params)
    return int(row[0]) if row else None


_ASSETS = Asset._meta.db_table
_REFS = ExternalRef._meta.db_table
_SQL_BY_REF = (
    f"SELECT {{columns}} FROM {_ASSETS} a JOIN {_REFS} r ON r.object_id = a.id "
    "WHERE r.integration_id = %s AND r.kind = %s AND r.external_id = %s AND a.active LIMIT 1"
)
_SQL_BY_NAME = f"SELECT {{columns}} FROM {_ASSETS} a WHERE a.active AND a.name = %s"
_SQL_BY_NAME_ICASE = f"SELECT {{columns}} FROM {_ASSETS} a WHERE a.active AND UPPER(a.name) = UPPER(%s)"
_SQL_BY_VALUE_SQLITE = (
    f"SELECT {{columns}} FROM {_ASSETS} a WHERE a.active AND JSON_EXTRACT(a.\"values\", '$.' || %s) = %s"
)
_SQL_BY_VALUE_PG = f"SELECT {{columns}} FROM {_ASSETS} a WHERE a.active AND (a.\"values\" ->> %s) = %s"
#: Only the integration's own assets (an indexed probe of ExternalRef (kind, object_id) per candidate).
_SQL_OWN = (
    f" AND EXISTS (SELECT 1 FROM {_REFS} r WHERE r.integration_id = %s AND r.kind = %s "
    "AND r.object_id = a.id) ORDER BY a.id LIMIT 1"
)
_SQL_ANY = " ORDER BY a.id LIMIT 1"
_SQL_STATE = f"SELECT id FROM {AlertState._meta.db_table} WHERE scope = %s AND \"key\" = %s"


def find_target(facts: AlertFacts, config: AlertingConfig | None) -> Target | None:
    """The asset's customer, site and end user, else the integration's fallback user for new alerts."""
    asset = facts.asset if facts.asset_checked else find_asset(facts)
    fallback = config.new_alert_user if config is not None else None
    if asset is not None:
        end_user = asset.end_user
        if end_user is None and fallback is not None and fallback.customer_id == asset.customer_id:
            end_user = fallback
        return Target(asset.customer, asset.site, end_user, asset)
    if fallback is not None:
        return Target(fallback.customer, fallback.site, fallback, None)
    return None
