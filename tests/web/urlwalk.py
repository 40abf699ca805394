"""Walk a URL configuration and build a concrete, resolvable path for every view (test helper)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils.regex_helper import normalize


@dataclass(frozen=True)
class Endpoint:
    """One view of the URL configuration with a path that resolves to it (or why none could be built)."""

    name: str
    callback: Callable[..., Any]
    path: str | None
    problem: str = ""

    @property
    def login_exempt(self) -> bool:
        """Marked with Django's login_not_required (the middleware then leaves it to the view)."""
        return getattr(self.callback, "login_required", True) is False


def candidates(extra: Sequence[str] = ()) -> list[str]:
    """Values tried for path parameters, most likely first."""
    labels = [config.label for config in apps.get_app_configs()]
    models = [model._meta.model_name or "" for model in apps.get_models()]
    return [*extra, "1", "x", "demo", str(uuid.UUID(int=1)), "2026-01-01", "a/b", *labels, *models]


_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _part_params(part: URLPattern | URLResolver) -> list[str]:
    pattern = part.pattern
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return list(pattern.regex.groupindex)
    return []


def _render_part(part: URLPattern | URLResolver, values: Iterable[str]) -> Iterator[str]:
    """Concrete texts for one level of the URL configuration, each matching that level's pattern."""
    pattern = part.pattern
    regex = pattern.regex
    params = _part_params(part)
    if isinstance(pattern, RegexPattern):
        try:
            templates = [fmt for fmt, _ in normalize(regex.pattern)]
        except (ValueError, NotImplementedError):
            return
    else:
        templates = [_ROUTE_PARAM.sub(lambda m: f"%({m.group('name')})s", str(pattern).replace("%", "%%"))]
    for value in values:
        for template in templates:
            try:
                text = template % dict.fromkeys(params, value) if params or "%" in template else template
            except (KeyError, ValueError, TypeError):
                continue
            match = regex.match(text)
            is_endpoint = isinstance(part, URLPattern)
            if match and (not is_endpoint or match.end() == len(text)):
                yield text[: match.end()] if not is_endpoint else text
        if not params:
            return


def walk(
    urlconf: str | None = None, extra_values: Sequence[str] = ()
) -> list[Endpoint]:
    """Every view reachable from `urlconf`, with a concrete path that resolves to that very view."""
    values = candidates(extra_values)
    found: list[Endpoint] = []

    def visit(patterns: Sequence[URLPattern | URLResolver], prefixes: list[str], namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner_ns = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else (
                    entry.namespace or namespace)
                heads = list(dict.fromkeys(_render_part(entry, values)))[:3] or [""]
                visit(entry.url_patterns, [p + h for p in prefixes for h in heads][:6], inner_ns)
                continue
            name = f"{namespace}:{entry.name}".lstrip(":") if entry.name else f"<unnamed {entry.pattern}>"
            built = None
            for prefix in prefixes:
                for tail in _render_part(entry, values):
                    path = "/" + prefix + tail
                    try:
                        match = resolve(path, urlconf)
                    except (Resolver404, ValueError, TypeError):
                        continue
                    if match.func is entry.callback or getattr(match.func, "__wrapped__", None) is entry.callback:
                        built = path
                        break
                if built:
                    break
            problem = "" if built else f"no value of {values[:6]}… builds a path that resolves to this view"
            found.append(Endpoint(name=name, callback=entry.callback, path=built, problem=problem))

    resolver = get_resolver(urlconf)
    visit(resolver.url_patterns, [""], "")
    return found
