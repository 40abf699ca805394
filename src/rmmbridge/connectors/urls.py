"""One normaliser for the API URLs people paste in, with each vendor's hosts and API paths as data (UrlRule)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class UrlRule:
    """What a vendor's URL may look like.

    ``domains``: the host must be one of these or under one (empty: any host, for self-hosted servers);
    ``api_paths``: paths people paste along that are removed (e.g. ``/api/v3``); any other path is refused;
    ``empty_hint``: the message for an empty value; ``noun``: how a refused host is described ("a NinjaOne
    instance"); ``address``: what the value is ("instance address"). Loopback URLs (http or https) are accepted for
    the emulators. ``default_scheme``: added to a value typed without one (empty: such a value is refused);
    ``path_note`` / ``https_note``: said after "without a path" / "must use https" (e.g. why).
    """

    example: str
    empty_hint: str
    noun: str
    address: str
    domains: tuple[str, ...] = ()
    api_paths: tuple[str, ...] = ()
    default_scheme: str = ""
    path_note: str = ""
    https_note: str = ""


def normalize_url(value: str | None, rule: UrlRule) -> str:
    """The API root as ``scheme://host[:port]``, or ValueError saying what to enter instead."""
    raw = (value or "").strip()
    example = rule.example
    if not raw:
        raise ValueError(rule.empty_hint)
    if "://" not in raw:
        if not rule.default_scheme:
            raise ValueError(f"must start with https://, e.g. {example}; got {raw!r}")
        raw = f"{rule.default_scheme}://{raw}"
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"has no host name, e.g. {example}; got {raw!r}")
    if any(c.isspace() for c in raw):
        raise ValueError(f"must be the {rule.address} without spaces, e.g. {example}; got {raw!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"has an invalid port; got {raw!r}") from None
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"must be just the {rule.address}, without query, fragment or user info; got {raw!r}")
    path = parts.path.rstrip("/")
    if path.lower() in tuple(p.lower().rstrip("/") for p in rule.api_paths):
        path = ""
    if path:
        note = f" {rule.path_note}" if rule.path_note else ""
        raise ValueError(f"must be the {rule.address} without a path{note}, e.g. {example}; got {raw!r}")
    bare = host.strip("[]")
    netloc_host = f"[{bare}]" if ":" in bare else bare
    netloc = netloc_host if port is None else f"{netloc_host}:{port}"
    if bare in LOOPBACK_HOSTS:
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"must use http or https; got {raw!r}")
        return f"{parts.scheme}://{netloc}"
    if parts.scheme != "https":
        note = f" {rule.https_note}" if rule.https_note else ""
        raise ValueError(f"must use https{note}, e.g. {example}; got {raw!r}")
    if rule.domains and not any(bare == d or bare.endswith("." + d) for d in rule.domains):
        under = " or ".join(rule.domains)
        raise ValueError(f"is not {rule.noun} (a host under {under}), e.g. {example}; got {raw!r}")
    return f"https://{netloc}"
