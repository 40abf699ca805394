"""A resync recognises unchanged Datto RMM devices from their raw items (RawCheck) and normalises only the rest."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmmbridge.connectors.datto_rmm import connector as datto_connector
from rmmbridge.connectors.rawcheck import KnownDevice, KnownLinks, RawCheck, raw_digest
from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, AuditEntry
from rmmbridge.sync.models import FieldMapping, SyncConfig, SyncStatus
from rmmbridge.sync.runner import run_sync


@pytest.fixture
def normalised(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The uids Datto's connector normalised (a spy: the real function still runs)."""
    seen: list[str] = []
    real = datto_connector.to_device

    def spy(dev: Any, raw: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(raw.get("uid")))
        return real(dev, raw, *args, **kwargs)

    monkeypatch.setattr(datto_connector, "to_device", spy)
    return seen


def test_raw_check_recognises_only_an_identical_armed_record() -> None:
    check = RawCheck(("uid", "hostname", "udf"))
    assert not check._ready.is_set()  # read() waits for the planner (see the resync test)
    raw = {"uid": "d1", "hostname": "PC-1", "udf": {"udf1": "a"}, "lastSeen": 1}
    check.release()  # released without arming: every device is normalised
    digest = check.read(raw, "d1", "PC-1")
    assert isinstance(digest, str)
    check.arm("k" * 40, KnownLinks([("d1", "k" * 16 + digest, 7), ("d2", "k" * 16 + digest, 8)]))
    known = check.read({**raw, "lastSeen": 2}, "d1", "PC-1")  # an unread key moved
    assert isinstance(known, KnownDevice)
    assert known.asset_id == 7  # the asset its link names
    assert isinstance(check.read(raw, "d3", "PC-3"), str)  # the same record under an id with no link
    assert check.read({**raw, "udf": {"udf1": "b"}}, "d1", "PC-1") != digest  # a read key changed
    reordered = {"udf": {"udf1": "a"}, "hostname": "PC-1", "uid": "d1"}  # e.g. read back from jsonb
    assert isinstance(check.read(reordered, "d1", "PC-1"), KnownDevice)
    check.arm("j" * 40, KnownLinks([("d1", "k" * 16 + digest, 7)]))  # other settings: other fingerprints
    assert isinstance(check.read(raw, "d1", "PC-1"), str)


@pytest.mark.django_db(transaction=True)
def test_resync_normalises_only_changed_devices_and_sees_mapping_changes(normalised: list[str]) -> None:
    with serve_emulator("datto_rmm", seed=11, customers=2, devices=40, alerts=0) as datto:
        integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto",
                                                    {**datto.credentials, "fetch_audits": False}, test=False)
        SyncConfig.objects.get_or_create(integration=integration)
        FieldMapping.objects.create(integration=integration, source="udf.udf1", target="CFudf1",
                                    create_if_missing=True)
        first = run_sync(integration.pk)
        assert first.status == SyncStatus.SUCCESS, first.errors
        live = [d for d in datto.state.iter_devices() if not d.deleted]
        assert len(normalised) >= len(live)

        normalised.clear()
        audits = AuditEntry.objects.count()
        second = run_sync(integration.pk)
        assert second.counts["assets"]["unchanged"] == len(live)
        assert AuditEntry.objects.count() == audits
        deleted = {d.id for d in datto.state.iter_devices() if d.deleted}  # never imported: read in full each time
        assert set(normalised) == deleted  # every unchanged device came as a KnownDevice

        normalised.clear()
        changed = live[-1]
        datto.state.update_device(changed.id, udf={**changed.udf, "udf1": "moved"})  # a mapped field
        third = run_sync(integration.pk)
        assert third.counts["assets"]["updated"] == 1
        link = ExternalRef.objects.get(integration=integration, kind="asset", external_id=changed.id)
        assert Asset.objects.get(pk=link.object_id).values["CFudf1"] == "moved"
        assert changed.id in normalised

        normalised.clear()
        FieldMapping.objects.create(integration=integration, source="udf.udf2", target="CFudf2",
                                    create_if_missing=True)
        fourth = run_sync(integration.pk)  # a mapping change: every fingerprint is stale
        assert fourth.status == SyncStatus.SUCCESS, fourth.errors
        assert set(normalised) >= {d.id for d in live}
        fifth_audits = AuditEntry.objects.count()
        fifth = run_sync(integration.pk)
        assert fifth.counts["assets"]["unchanged"] == len(live)
        assert AuditEntry.objects.count() == fifth_audits

        gone = live[0]
        datto.state.remove_device(gone.id)  # the missing-device rules still see a device leave
        config = SyncConfig.objects.get(integration=integration)
        config.grace_hours = 0
        config.save()
        sixth = run_sync(integration.pk)
        assert sixth.status == SyncStatus.SUCCESS, sixth.errors
        link = ExternalRef.objects.get(integration=integration, kind="asset", external_id=gone.id)
        assert not Asset.objects.get(pk=link.object_id).active


#: Per vendor with a raw check: its connector module, the raw id key of what `to_device` reads, and a mapped vendor
#: path read from the emulator's `os_name`.
RAW_VENDORS = {
    "ninjaone": ("rmmbridge.connectors.ninjaone.connector", "id", "os.name"),
    "atera": ("rmmbridge.connectors.atera.connector", "AgentID", "OS"),
}


@pytest.mark.parametrize("slug", sorted(RAW_VENDORS))
@pytest.mark.django_db(transaction=True)
def test_resync_of_ninjaone_and_atera_normalises_only_changed_devices(slug: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HTTP against the vendor's emulator: an unchanged device comes back as a KnownDevice (never normalised),
    a change of an unmapped key (last contact) still does, and a change of a mapped key is seen and written."""
    import importlib

    module_name, id_key, mapped = RAW_VENDORS[slug]
    module = importlib.import_module(module_name)
    normalised: list[str] = []
    real = module.to_device

    def spy(device: Any, raw: Any, *args: Any, **kwargs: Any) -> Any:
        normalised.append(str(raw.get(id_key)))
        return real(device, raw, *args, **kwargs)

    monkeypatch.setattr(module, "to_device", spy)
    with serve_emulator(slug, seed=11, customers=2, devices=40, alerts=0) as emulator:
        integration = actions.do_create_integration(Actor.cli("test"), slug, slug, emulator.credentials, test=False)
        SyncConfig.objects.get_or_create(integration=integration)
        FieldMapping.objects.create(integration=integration, source=mapped, target="CFos", create_if_missing=True)
        first = run_sync(integration.pk)
        assert first.status == SyncStatus.SUCCESS, first.errors
        links = dict(ExternalRef.objects.filter(integration=integration, kind="asset").values_list("external_id",
                                                                                                   "object_id"))
        read_first = set(normalised)
        assert len(read_first) >= 30
        assert read_first - set(links) == {d.id for d in emulator.state.iter_devices() if d.deleted}

        normalised.clear()
        audits = AuditEntry.objects.count()
        second = run_sync(integration.pk)
        assert second.status == SyncStatus.SUCCESS, second.errors
        assert second.counts["assets"]["unchanged"] == len(links)
        assert AuditEntry.objects.count() == audits
        assert set(normalised) == read_first - set(links)  # only devices never imported are read in full again

        linked = [d for d in emulator.state.iter_devices() if d.id in links and d.id in read_first]
        quiet, changed = linked[0], linked[-1]
        emulator.state.update_device(quiet.id, last_seen=quiet.last_seen.replace(year=2030))  # not a mapped key
        emulator.state.update_device(changed.id, os_name="Windows 12 Preview")  # the mapped key
        normalised.clear()
        third = run_sync(integration.pk)
        assert third.status == SyncStatus.SUCCESS, third.errors
        assert third.counts["assets"]["updated"] == 1
        assert third.counts["assets"]["unchanged"] == len(links) - 1
        assert changed.id in normalised
        assert quiet.id not in normalised
        assert Asset.objects.get(pk=links[changed.id]).values["CFos"] == "Windows 12 Preview"


@pytest.mark.parametrize("module_name", ["rmmbridge.connectors.datto_rmm.connector",
                                         "rmmbridge.connectors.ninjaone.normalize",
                                         "rmmbridge.connectors.atera.normalize"])
def test_raw_attribute_keys_name_every_device_attribute(module_name: str) -> None:
    """A mapped attribute whose raw keys were not hashed would never replan its device: each is named."""
    import dataclasses
    import importlib

    from rmmbridge.connectors.records import RemoteDevice

    keys = importlib.import_module(module_name).RAW_ATTRIBUTE_KEYS
    attributes = {f.name for f in dataclasses.fields(RemoteDevice)} - {"fields", "raw_digest"}
    assert set(keys) == attributes


@given(st.dictionaries(st.tuples(st.text(max_size=12), st.text(max_size=12)), st.integers(0, 2**63 - 1),
                       max_size=60))
def test_known_links_give_each_pair_its_asset_and_nothing_to_another_pair(links: dict[tuple[str, str], int]) -> None:
    known = KnownLinks((ext, fp, asset_id) for (ext, fp), asset_id in links.items())
    assert len(known) == len(links)
    for (ext, fp), asset_id in links.items():
        assert known.get(ext, fp) == asset_id
        if (ext, fp + "x") not in links:
            assert known.get(ext, fp + "x") is None
        if (ext + "x", fp) not in links:
            assert known.get(ext + "x", fp) is None


def test_known_links_refuse_a_negative_asset_id() -> None:
    """-1 marks an empty slot: a negative id would be lost, so it is refused instead."""
    with pytest.raises(ValueError, match="id of 0 or more"):
        KnownLinks([("dev-1", "fp", -1)])


def test_raw_digest_keeps_the_digests_of_links_stamped_with_the_standard_library() -> None:
    raw = {"uid": "u-1", "hostname": "PC-01", "deleted": False, "lastSeen": 1721131200000, "audit": None,
           "udf": {"udf2": "b", "udf1": "a \"quoted\"\n\t/"}, "deviceType": {"type": "Desktop", "category": "PC"}}
    keys = ("uid", "hostname", "deleted", "lastSeen", "audit", "udf", "deviceType", "missing")
    before = json.dumps([raw.get(k) for k in keys], sort_keys=True, default=str, separators=(",", ":"))
    assert raw_digest(raw, keys) == hashlib.sha1(before.encode()).hexdigest()[:40]
    assert raw_digest({"uid": 2**70}, ("uid",)) == hashlib.sha1(b"[1180591620717411303424]").hexdigest()[:40]
    assert raw_digest({"uid": "Müller"}, ("uid",)) != raw_digest({"uid": "Muller"}, ("uid",))
