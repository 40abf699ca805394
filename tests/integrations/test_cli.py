"""`rmmbridge integration …` end to end against the Datto RMM emulator over HTTP."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rmmbridge.integrations.models import Integration, IntegrationStatus


def run(*args: str) -> tuple[int, str, str]:
    """Run the command in-process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("integration", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def _add_args(creds: dict[str, str], name: str = "Acme") -> list[str]:
    args = ["add", "datto_rmm", "--name", name]
    for key, value in creds.items():
        if key != "api_secret":
            args += ["--set", f"{key}={value}"]
    return args


@pytest.mark.django_db
def test_add_list_test_fetch(monkeypatch: pytest.MonkeyPatch, datto_creds: dict[str, str]) -> None:
    secret = datto_creds["api_secret"]
    monkeypatch.setenv("RMMBRIDGE_SECRET_API_SECRET", secret)
    code, out, err = run(*_add_args(datto_creds))
    assert code == 0, err
    assert "Added integration 'Acme'" in out
    assert secret not in out + err

    code, out, _ = run("list", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["Acme"]
    assert rows[0]["credentials"]["api_secret"] == "set"
    assert rows[0]["status"] == "ok"
    assert secret not in out

    code, out, _ = run("list")
    assert "Acme" in out
    assert "api_secret=set" in out
    assert secret not in out

    code, out, err = run("test", "Acme")
    assert code == 0
    assert out.startswith("OK – ")

    pk = str(Integration.objects.get().pk)
    code, out, err = run("fetch", pk, "devices", "--limit", "5", "--json")
    assert code == 0, err
    devices = json.loads(out)
    assert len(devices) == 5
    assert all(d["external_id"] and d["hostname"] for d in devices)
    assert {"device_type", "site_external_id", "fields"} <= set(devices[0])
    assert secret not in out

    code, out, err = run("fetch", "Acme", "sites")
    assert code == 0, err
    assert "sites from Acme" in out
    assert "sites shown" in out

    code, out, err = run("fetch", "Acme", "alerts", "--json", "--limit", "50")
    assert code == 0, err
    assert all(a["state"] == "open" for a in json.loads(out))


@pytest.mark.django_db
def test_wrong_credentials_exit_non_zero_with_key(datto_creds: dict[str, str]) -> None:
    code, out, err = run(*_add_args(datto_creds), "--set", "api_secret=not-the-secret")
    assert code == 1
    assert "invalid_auth: Validation failed – 401 Unauthorized" in err
    assert "not-the-secret" not in out + err
    assert not Integration.objects.exists()

    code, _, err = run(*_add_args(datto_creds), "--set", "api_secret=not-the-secret", "--no-test")
    assert code == 0
    code, out, err = run("test", "Acme")
    assert code == 1
    assert err.startswith("invalid_auth: Validation failed – 401 Unauthorized")
    assert Integration.objects.get().status == IntegrationStatus.NEEDS_REAUTH

    # Fixing the secret with `set` tests it and stores it.
    code, out, err = run("set", "Acme", "--set", f"api_secret={datto_creds['api_secret']}")
    assert code == 0, err
    assert datto_creds["api_secret"] not in out
    assert run("test", "Acme")[0] == 0


@pytest.mark.django_db
def test_missing_secret_without_tty_or_env_is_a_clear_error(datto_creds: dict[str, str]) -> None:
    with pytest.raises(CommandError, match="RMMBRIDGE_SECRET_API_SECRET"):
        run(*_add_args(datto_creds))
    with pytest.raises(CommandError, match="KEY=VALUE"):
        run("add", "datto_rmm", "--name", "X", "--set", "novalue")
    with pytest.raises(CommandError, match="No integration with name or id 'ghost'"):
        run("test", "ghost")


@pytest.mark.django_db
def test_fetch_of_an_unsupported_kind_says_what_is_offered(integration: Any) -> None:
    with pytest.raises(CommandError, match=r"does not support users.*offers: devices, sites, customers, alerts"):
        run("fetch", "Acme Datto", "users")
    with pytest.raises(CommandError, match="--limit must be at least 1"):
        run("fetch", "Acme Datto", "devices", "--limit", "0")


@pytest.mark.django_db
def test_enable_disable_and_rotate(integration: Any) -> None:
    code, out, _ = run("disable", "Acme Datto")
    assert code == 0
    assert "Disabled 'Acme Datto'" in out
    assert Integration.objects.get().status == IntegrationStatus.DISABLED
    code, out, _ = run("enable", str(integration.pk))
    assert code == 0
    assert "Enabled" in out
    code, out, _ = run("rotate-keys")
    assert code == 0
    assert "1 integration(s)" in out
    assert run("test", "Acme Datto")[0] == 0  # still readable after rotation


@pytest.mark.django_db
def test_configure_exports_and_imports_sync_config(integration: Any, tmp_path: Any) -> None:
    target = tmp_path / "config.json"
    code, out, err = run("configure", "Acme Datto", "--export", str(target))
    assert code == 0, err
    exported = json.loads(target.read_text())
    assert isinstance(exported, dict)
    code, out, err = run("configure", "Acme Datto", "--import", str(target))
    assert code == 0, err
    assert "Imported" in out
    code, out, _ = run("configure", "Acme Datto", "--show")
    assert json.loads(out) == exported
    target.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        run("configure", "Acme Datto", "--import", str(target))


@pytest.mark.django_db
def test_missing_secret_is_prompted_on_a_terminal(monkeypatch: pytest.MonkeyPatch, datto_creds: dict[str, str]) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return datto_creds["api_secret"]

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    code, out, err = run(*_add_args(datto_creds))
    assert code == 0, err
    assert datto_creds["api_secret"] not in out
    assert prompts == ["API Secret Key (api_secret): "]
    assert Integration.objects.get().get_credentials()["api_secret"] == datto_creds["api_secret"]
