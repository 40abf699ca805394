"""The research folders (samples, specs) are found beside the checkout, in a parent, or through an env variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.connectors import openapi, research, samples
from tests.connectors.openapi import SpecFile


def test_the_env_variable_names_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMMBRIDGE_SPECS", str(tmp_path))
    assert research.find_research_dir("specs", "RMMBRIDGE_SPECS") == tmp_path


def test_a_parent_of_the_checkout_holding_shared_research_is_found(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RMMBRIDGE_SPECS", raising=False)
    checkout = tmp_path / "team" / "worktrees" / "wt"
    module = checkout / "tests" / "connectors" / "research.py"
    module.parent.mkdir(parents=True)
    specs = tmp_path / "team" / "shared" / "research" / "specs"  # two levels above the checkout
    specs.mkdir(parents=True)
    monkeypatch.setattr(research, "__file__", str(module))
    assert research.find_research_dir("specs", "RMMBRIDGE_SPECS") == specs
    # without any: the path beside the checkout, which does not exist (the tests using it skip)
    assert research.find_research_dir("other", "RMMBRIDGE_SPECS") == tmp_path / "team" / "worktrees" / "shared" \
        / "research" / "other"


def test_specs_and_samples_are_found_the_same_way() -> None:
    assert openapi.SPECS_ROOT.parent == samples.SAMPLES_ROOT.parent
    assert openapi.SPECS_ROOT.name == "specs"


def test_a_missing_document_skips_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openapi, "SPECS_ROOT", tmp_path)
    monkeypatch.setattr("tests.conftest.CI", False)
    reason = r"OpenAPI document .*datto-rmm/x\.json .*RMMBRIDGE_SPECS.* is not available"
    with pytest.raises(pytest.skip.Exception, match=reason):
        SpecFile("datto-rmm", "x.json").load()


def test_a_missing_document_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openapi, "SPECS_ROOT", tmp_path)
    monkeypatch.setattr("tests.conftest.CI", True)
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        SpecFile("datto-rmm", "x.json").load()
