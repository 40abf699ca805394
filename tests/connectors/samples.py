"""The sample corpus: every file under ../shared/research/samples/<vendor>/ goes through that vendor's parser.

Each vendor's ``tests/connectors/<slug>/test_samples.py`` declares an ``INDEX`` (file name → ``Sample``) and calls
``sample_tests(folder, INDEX)``, which returns two tests: every JSON file of the folder has an index entry (a new
sample without one fails), and each indexed file passes its check (or fails as its ``xfail`` reason says).
The samples are read in place, never copied into the project; without them the tests skip, under CI=true they fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require_service
from tests.connectors.research import find_research_dir

from rmmbridge.common import fastjson

#: ``shared/research/samples`` beside the checkout or one of its parents; ``RMMBRIDGE_SAMPLES`` overrides.
SAMPLES_ROOT = find_research_dir("samples", "RMMBRIDGE_SAMPLES")


@dataclass(frozen=True)
class Sample:
    """One sample file: ``check`` gets its parsed JSON and asserts the values that matter."""

    check: Callable[[Any], None]
    xfail: str | None = None


def samples_dir(folder: str) -> Path:
    """The vendor's sample folder; skips (fails under CI=true) when the research samples are not beside the clone."""
    path = SAMPLES_ROOT / folder
    require_service(path.is_dir(), f"the research samples at ../shared/research/samples/{folder}")
    return path


def load_sample(folder: str, name: str) -> Any:
    """One sample file, parsed as JSON by the decoder the connectors read response bodies with."""
    return fastjson.loads((samples_dir(folder) / name).read_bytes())


def sample_tests(folder: str, index: Mapping[str, Sample]) -> tuple[Callable[[], None], Callable[[str], None]]:
    """The two corpus tests for one vendor folder; assign them to module-level ``test_*`` names."""

    def test_every_sample_has_an_index_entry() -> None:
        files = sorted(p.name for p in samples_dir(folder).glob("*.json"))
        missing = [name for name in files if name not in index]
        assert not missing, f"sample files without an index entry in test_samples.py: {missing}"
        gone = [name for name in index if name not in files]
        assert not gone, f"index entries without a sample file: {gone}"

    @pytest.mark.parametrize("name", sorted(index))
    def test_sample_parses(name: str) -> None:
        sample = index[name]
        data = load_sample(folder, name)
        if sample.xfail:
            try:
                sample.check(data)
            except Exception:
                pytest.xfail(sample.xfail)
            pytest.fail(f"{name} now passes: remove its xfail ({sample.xfail})")
        sample.check(data)

    return test_every_sample_has_an_index_entry, test_sample_parses
