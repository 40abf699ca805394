"""Emulator against the vendor's OpenAPI document: every documented GET an emulator serves must validate.

Usage in ``tests/connectors/<slug>/test_openapi.py``::

    SPEC = SpecFile("ninjaone", "ninjaone-api-core-resources.homotechsual.yaml")

    def test_emulator_matches_the_openapi_document() -> None:
        report = walk_emulator("ninjaone", SPEC.load(), path_params=lambda emu: {"device_id": "1"})
        report.assert_valid(min_checked=10)

``walk_emulator`` serves the vendor's emulator over HTTP (``serve_emulator``), authenticates with the vendor's own
connector stack (``open_connector`` → ``connector.http``, so each vendor's auth flow is used), requests every GET route
of the emulator app (path parameters filled from ``path_params``; routes needing a value not given are listed as
unwalked) plus any ``extra`` URLs, and validates each response whose path and method the document describes with
``openapi-core`` (status, content type and body against the documented schema, ``nullable`` honoured). Routes the
document does not describe (the emulator control API, vendor paths missing from the copy) are reported, not failed.
The documents are read in place from shared/research/specs/<vendor>/ beside the checkout or one of its parents (or
``RMMBRIDGE_SPECS``), as samples.py finds the samples; without them the tests skip, under CI=true they fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound, ServerNotFound
from openapi_core.testing import MockRequest, MockResponse
from starlette.routing import Route
from tests.conftest import require_service
from tests.connectors.research import find_research_dir

from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.testing import EMULATORS
from rmmbridge.connectors.testing.contract import FAST_RETRY
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

#: ``shared/research/specs`` beside the checkout or one of its parents (as samples.py finds ``samples``);
#: ``RMMBRIDGE_SPECS`` overrides.
SPECS_ROOT = find_research_dir("specs", "RMMBRIDGE_SPECS")

PathParams = Mapping[str, str] | Callable[[RunningEmulator], Mapping[str, str]]


@dataclass(frozen=True)
class SpecFile:
    """One saved OpenAPI document: ``folder`` under specs/ and the file name (JSON or YAML)."""

    folder: str
    name: str

    def load(self) -> OpenAPI:
        """The parsed document; skips (fails under CI=true) when the research specs are not found."""
        path = SPECS_ROOT / self.folder / self.name
        require_service(path.is_file(), f"the OpenAPI document shared/research/specs/{self.folder}/{self.name} "
                        "(beside the checkout or a parent of it, or RMMBRIDGE_SPECS)")
        return _load(str(path))


@cache
def _load(path: str) -> OpenAPI:
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=yaml.CSafeLoader)
    return OpenAPI.from_dict(data)


@dataclass(frozen=True)
class Checked:
    """One response checked against the document: ``errors`` is empty when it validates."""

    method: str
    url: str
    status: int
    errors: tuple[str, ...]


@dataclass
class OpenApiReport:
    """What a walk found: validated responses, URLs the document does not describe, routes not walked."""

    slug: str
    checked: list[Checked] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)
    unwalked: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Checked]:
        return [c for c in self.checked if c.errors]

    def assert_valid(self, *, min_checked: int = 1, allow_unwalked: Iterable[str] = ()) -> None:
        """Fail naming every invalid response, a route left unwalked (unless allowed), or too few checks."""
        problems = [f"{c.method} {c.url} → {c.status}: " + " | ".join(c.errors) for c in self.failures]
        left = [r for r in self.unwalked if r not in set(allow_unwalked)]
        if left:
            problems.append(f"routes not walked (give path_params for them): {left}")
        if len(self.checked) < min_checked:
            problems.append(f"only {len(self.checked)} documented responses checked (expected ≥ {min_checked}); "
                            f"undocumented: {self.undocumented}")
        assert not problems, f"{self.slug} emulator vs OpenAPI document:\n" + "\n".join(problems)


def _schema_errors(exc: BaseException, nulls: Mapping[str, str]) -> list[str]:
    """Readable messages of an openapi-core validation error (the jsonschema errors it wraps, with their paths).

    A null in a property named in ``nulls`` is not reported (the real API sends null there; the value says why).
    """
    messages: list[str] = []
    found = False
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for error in getattr(current, "schema_errors", ()) or ():
            found = True
            path = list(error.absolute_path)
            if error.instance is None and path and str(path[-1]) in nulls:
                continue
            where = "/".join(str(p) for p in path) or "(body)"
            messages.append(f"{where}: {error.message[:200]}")
        current = current.__cause__ or current.__context__
    if found:
        return messages[:10]
    return [f"{type(exc).__name__}: {str(exc)[:300]}"]


def check_response(spec: OpenAPI, method: str, url: str, status: int, headers: Mapping[str, str],
                   body: bytes, *, nulls: Mapping[str, str] | None = None) -> Checked | None:
    """Validate one response against the document; None when the document does not describe its path and method."""
    parts = urlsplit(url)
    host_url = f"{parts.scheme}://{parts.netloc}"
    request = MockRequest(host_url, method.lower(), parts.path, args=dict(parse_qsl(parts.query)))
    content_type = headers.get("content-type", "application/json").split(";")[0].strip()
    response = MockResponse(body, status_code=status, headers=dict(headers), content_type=content_type)
    try:
        spec.validate_response(request, response)
    except (PathNotFound, OperationNotFound, ServerNotFound):
        return None
    except Exception as exc:  # openapi-core raises a family of validation errors; all of them are findings
        return Checked(method.upper(), url, status, tuple(_schema_errors(exc, nulls or {})))
    return Checked(method.upper(), url, status, ())


def _fill(path: str, values: Mapping[str, str]) -> str | None:
    route_params = [segment[1:-1].split(":")[0] for segment in path.split("/") if segment.startswith("{")]
    if any(name not in values for name in route_params):
        return None
    for name in route_params:
        path = path.replace("{" + name + "}", values[name]).replace("{" + name + ":int}", values[name])
    return path


def walk_emulator(
    slug: str,
    spec: OpenAPI,
    *,
    path_params: PathParams = {},  # noqa: B006 - read only
    extra: Iterable[str] = (),
    skip: Iterable[str] = (),
    nulls: Mapping[str, str] | None = None,
    seed: int = 3,
    customers: int = 3,
    devices: int = 12,
    alerts: int = 4,
    page_size: int | None = None,
) -> OpenApiReport:
    """Serve the emulator, GET every route (and each ``extra`` path with query) through the vendor's connector
    client, and check each response the document describes. ``skip`` names route templates not to request;
    ``nulls`` maps property names the real API sends as null (though the document does not say nullable) to the
    evidence, so those nulls are not findings."""
    report = OpenApiReport(slug)
    skipped = set(skip)
    with serve_emulator(slug, seed=seed, customers=customers, devices=devices, alerts=alerts,
                        page_size=page_size) as emulator:
        values = path_params(emulator) if callable(path_params) else path_params
        _, create_app = EMULATORS[slug]
        urls: list[str] = []
        for route in create_app(emulator.state).routes:
            if not isinstance(route, Route) or "GET" not in (route.methods or ()) or route.path in skipped:
                continue
            if route.path.startswith("/_emulator"):
                continue
            filled = _fill(route.path, values)
            if filled is None:
                report.unwalked.append(route.path)
            else:
                urls.append(filled)
        urls.extend(extra)
        with open_connector(slug, emulator.credentials, retry=FAST_RETRY, timeout=10) as connector:
            for path in urls:
                response = connector.http.get(path)
                checked = check_response(spec, "GET", str(response.request.url), response.status_code,
                                         response.headers, response.content, nulls=nulls)
                if checked is None:
                    report.undocumented.append(path)
                else:
                    report.checked.append(checked)
    return report
