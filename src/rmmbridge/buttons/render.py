"""Pure URL-template rendering of device buttons: placeholders, URL-encoding and the http(s)-only rule."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit

#: {name} or Halo's {$NAME}; names may contain dots (an RMM field path such as udf.udf1).
PLACEHOLDER = re.compile(r"\{(\$?[A-Za-z_][A-Za-z0-9_.]*)\}")
BUILTINS = ("rmm_id", "hostname", "serial", "base_url")
#: Halo's placeholder names, accepted for familiarity (seed 002: {$CAUTOMATEID} in Automate's buttons).
ALIASES = {"$CAUTOMATEID": "rmm_id"}
SCHEMES = ("http", "https")
MAX_LENGTH = 1000


class TemplateError(ValueError):
    """A URL template a person must correct; the message says how."""


def placeholders(template: str) -> list[str]:
    """The placeholder names of `template`, aliases resolved, in order."""
    return [ALIASES.get(m.group(1), m.group(1)) for m in PLACEHOLDER.finditer(template)]


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in SCHEMES and bool(parts.netloc) and not any(c in url for c in "\r\n\t")


def check_template(template: str, known: Iterable[str] = ()) -> str:
    """The cleaned template, or TemplateError saying what to fix.

    A template starts with http:// or https://, or with a placeholder that holds a whole URL ({base_url}, or a
    mapped field such as {portalUrl}); placeholders must be built-ins or names in `known` (mapped fields).
    """
    cleaned = (template or "").strip()
    if not cleaned:
        raise TemplateError("Enter a URL template, e.g. {base_url}/automate/computer/{rmm_id}.")
    if len(cleaned) > MAX_LENGTH:
        raise TemplateError(f"The URL template is longer than {MAX_LENGTH} characters ({len(cleaned)}).")
    if any(c.isspace() for c in cleaned):
        raise TemplateError("The URL template contains spaces or line breaks; remove them (values are encoded).")
    allowed = {*BUILTINS, *known}
    unknown = [name for name in placeholders(cleaned) if name not in allowed]
    if unknown:
        raise TemplateError(
            f"Unknown placeholder {{{unknown[0]}}}; use {{rmm_id}} (or {{$CAUTOMATEID}}), {{hostname}}, {{serial}}, "
            "{base_url} or the key of a mapped field."
        )
    first = PLACEHOLDER.match(cleaned)
    if first is None:
        scheme = cleaned.split(":", 1)[0].lower() if ":" in cleaned else ""
        if scheme not in SCHEMES:
            shown = f"'{scheme}:'" if scheme else "a URL without a scheme"
            raise TemplateError(f"Only http:// and https:// links are allowed; {shown} is not. "
                                "Start the template with https://.")
        sample = PLACEHOLDER.sub("x", cleaned)
        if not _is_web_url(sample):
            raise TemplateError("The URL template needs a host after the scheme, e.g. https://rmm.example.com/….")
    return cleaned


def render_url(template: str, values: Mapping[str, str]) -> str | None:
    """The link for one device, or None when a placeholder has no value or the result is not an http(s) URL.

    A placeholder at the very start is inserted as it is (it holds a whole URL, e.g. {base_url} or Datto's
    portalUrl); every other value is percent-encoded (`&`, `/`, spaces and non-ASCII included).
    """
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        name = ALIASES.get(match.group(1), match.group(1))
        value = values.get(name)
        if value is None or str(value) == "":
            missing = True
            return ""
        text = str(value)
        if match.start() == 0:
            return text.rstrip("/") if name == "base_url" else text
        return quote(text, safe="")

    url = PLACEHOLDER.sub(substitute, template)
    if missing or not _is_web_url(url):
        return None
    return url
