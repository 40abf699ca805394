"""The `sync` command and `integration configure` (JSON import/export) end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor, do_create_customer
from rmmbridge.servicedesk.models import Asset
from rmmbridge.sync import runner
from rmmbridge.sync.models import CustomerMapping, FieldMapping, SyncConfig
from rmmbridge.sync.snapshot import sync_config

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "RETRY", RetryPolicy(max_retries=0, backoff_base=0.01))


@pytest.fixture
def datto() -> Iterator[Any]:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("datto_rmm", seed=5, customers=2, devices=12, alerts=0) as emulator:
        yield emulator


@pytest.fixture
def integration(db: Any, datto: Any) -> Integration:
    return actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto CLI", dict(datto.credentials),
                                         test=False)


def sync_json(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("sync", *args, "--json", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return dict(json.loads(lines[0]))


def test_sync_json_counts(integration: Integration, datto: Any) -> None:
    dry = sync_json("Datto CLI", "--dry-run")
    assert dry["status"] == "planned"
    assert Asset.objects.count() == 0
    result = sync_json(str(integration.pk), "--entities", "customers,sites,assets")
    assert result["status"] == "success"
    assert set(result["counts"]) == {"customers", "sites", "assets"}
    assert set(result["counts"]["assets"]) == {"created", "updated", "unchanged", "linked", "deactivated",
                                               "reactivated", "conflicts", "errors"}
    assert result["counts"]["assets"]["created"] == Asset.objects.count() > 0
    again = sync_json("Datto CLI")
    assert again["counts"]["assets"]["unchanged"] == Asset.objects.count()
    assert again["counts"]["assets"]["created"] == 0


def test_cli_sync_refuses_while_the_integration_syncs(integration: Integration) -> None:
    from rmmbridge.integrator import locks
    from rmmbridge.sync.models import SyncRun

    with locks.hold(f"{locks.integration_lock_name(integration.pk)}:sync"), \
            pytest.raises(CommandError, match="is running right now"):
        call_command("sync", "Datto CLI", stdout=StringIO())
    assert not SyncRun.objects.exists()
    assert sync_json("Datto CLI")["status"] == "success"  # the lock is free again


def test_guard_exits_non_zero_until_yes(integration: Integration, datto: Any) -> None:
    sync_json("Datto CLI")
    live = [d for d in datto.state.iter_devices() if not d.deleted]
    for device in live[:6]:
        datto.state.remove_device(device.id)
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("sync", "Datto CLI", "--json", stdout=out)
    assert exc.value.code == 2
    assert json.loads(out.getvalue())["status"] == "needs_confirmation"
    assert sync_json("Datto CLI", "--yes")["counts"]["assets"]["deactivated"] == 6


def test_failed_sync_exits_non_zero(integration: Integration, datto: Any) -> None:
    datto.state.faults.add("500:GET:/api/v2/account/sites:times=0")
    out = StringIO()
    with pytest.raises(CommandError, match="Sync failed"):
        call_command("sync", "Datto CLI", "--json", stdout=out)
    assert json.loads(out.getvalue())["status"] == "failed"


def test_unknown_entity_is_explained(integration: Integration) -> None:
    with pytest.raises(CommandError, match="Unknown entity tickets: choose from customers, sites, users, assets"):
        call_command("sync", "Datto CLI", "--entities", "tickets")


def test_configure_export_import_round_trip(integration: Integration, tmp_path: Path) -> None:
    customer = do_create_customer(Actor.cli(), "Acme")
    path = tmp_path / "config.json"
    call_command("integration", "configure", "Datto CLI", "--export", str(path), stdout=StringIO())
    data = json.loads(path.read_text())
    assert data["settings"]["guard_percent"] == 20
    data["settings"]["guard_percent"] = 35
    data["settings"]["missing_action"] = "unlink"
    data["customer_mappings"] = [{"external_id": "site-1", "external_name": "Acme HQ", "customer": "Acme"},
                                 {"kind": "site", "external_id": "site-1", "customer": "Acme"}]
    data["settings"]["allow_customer_moves"] = True
    data["field_mappings"].append({"source": "udf.udf1", "target": "CFassettag", "policy": "only_empty",
                                   "create_if_missing": True})
    path.write_text(json.dumps(data))
    out = StringIO()
    call_command("integration", "configure", "Datto CLI", "--import", str(path), stdout=out)
    assert "Imported" in out.getvalue()
    config = SyncConfig.objects.get(integration=integration)
    assert (config.guard_percent, config.missing_action) == (35, "unlink")
    rows = {(m.kind, m.external_id): m.customer for m in CustomerMapping.objects.filter(integration=integration)}
    assert rows == {("customer", "site-1"): customer, ("site", "site-1"): customer}  # one id, two kinds
    assert config.allow_customer_moves
    assert FieldMapping.objects.filter(integration=integration, target="CFassettag", policy="only_empty").exists()
    shown = StringIO()
    call_command("integration", "configure", "Datto CLI", "--show", stdout=shown)
    assert json.loads(shown.getvalue())["settings"]["guard_percent"] == 35


def test_configure_import_errors_say_what_to_fix(integration: Integration, tmp_path: Path) -> None:
    sync_config(integration)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({
        "settings": {"guard_percent": 150, "missing_action": "explode", "colour": "red"},
        "customer_mappings": [{"external_id": "x", "customer": "Nobody"}, {"kind": "region", "external_id": "y"}],
        "field_mappings": [{"source": "udf.udf1"}],
    }))
    with pytest.raises(CommandError) as exc:
        call_command("integration", "configure", "Datto CLI", "--import", str(path))
    message = str(exc.value)
    assert "settings.guard_percent: must be a whole number from 0 to 100; got 150." in message
    assert ("settings.missing_action: must be one of deactivate, unlink, deactivate_unlink, nothing; "
            "got 'explode'.") in message
    assert "settings.colour: is not a known setting; remove it." in message
    assert "customer_mappings[0].customer: no customer named 'Nobody'" in message
    assert "customer_mappings[1].kind: 'region' is not a mapping kind: use 'customer' or 'site'." in message
    assert "field_mappings[0]: needs both source" in message
    assert SyncConfig.objects.get(integration=integration).guard_percent == 20  # nothing changed
    path.write_text("{not json")
    with pytest.raises(CommandError, match="is not valid JSON"):
        call_command("integration", "configure", "Datto CLI", "--import", str(path))


def test_plain_output_is_a_table_with_the_preview_hint(integration: Integration) -> None:
    out = StringIO()
    call_command("sync", "Datto CLI", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Planned (dry run)" in text
    assert "assets" in text
    assert "Dry run: nothing was written" in text
