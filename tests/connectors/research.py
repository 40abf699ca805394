"""Where the research material (../shared/research/<kind>) is: beside the checkout or a parent, or an env variable."""

from __future__ import annotations

import os
from pathlib import Path


def find_research_dir(kind: str, env: str) -> Path:
    """``shared/research/<kind>`` beside the checkout or one of its parents; the variable ``env`` overrides.

    Without either, the path beside the checkout is returned (it does not exist: the tests using it skip, or fail
    under CI=true).
    """
    if os.environ.get(env):
        return Path(os.environ[env])
    here = Path(__file__).resolve()
    for parent in here.parents[2:]:
        candidate = parent / "shared" / "research" / kind
        if candidate.is_dir():
            return candidate
    return here.parents[3] / "shared" / "research" / kind
