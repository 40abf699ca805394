"""Fault injection for emulators: the fault spec grammar, parsing, and a thread-safe fault queue.

Grammar (one fault per spec; fields separated by ':')::

    KIND[:METHOD][:PATH][:OPTION=VALUE[,OPTION=VALUE…]]

KIND     429 | 401 | 403 | 404 | 500…599 (answer with that status and the vendor's error body) |
         slow (delay, then answer normally) | drop (send half a body, then cut the connection) |
         malformed-json (200 with a cut-off JSON body) | malformed-item (one broken item in a list page) |
         repeat-page (a list page whose next-page link/cursor points back at a page already served)
METHOD   GET, POST, … or * (default *)
PATH     exact request path, or a glob (`/api/v2/account/*`); default * (every vendor API path; the
         token endpoint and /_emulator/ are matched only when named explicitly)
OPTIONS  times=N        how many matching requests fail (default 1; 0 = every one, forever)
         after=N        let the first N matching requests through first (default 0)
         retry_after=S  Retry-After seconds sent with 429 (default 1)
         delay=S        seconds a `slow` response waits (default 2)

Examples: `429:GET:/api/v2/account/devices:times=2`, `500:*:/api/v2/account/sites:times=3,after=1`,
`malformed-item:GET:/api/v2/account/devices`, `drop:GET:*`, `slow:GET:/api/v2/account:delay=0.5`.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass

GENERIC_KINDS = frozenset({"slow", "drop", "malformed-json"})
LIST_KINDS = frozenset({"malformed-item", "repeat-page"})


class FaultSpecError(ValueError):
    """A fault spec that does not follow the grammar; the message says what to write instead."""


@dataclass
class Fault:
    """One injected fault and how many more requests it applies to."""

    kind: str
    method: str = "*"
    path: str = "*"
    times: int = 1
    after: int = 0
    retry_after: float = 1.0
    delay: float = 2.0
    spec: str = ""
    fired: int = 0

    @property
    def status(self) -> int | None:
        """The HTTP status for status kinds (429, 500, …), else None."""
        return int(self.kind) if self.kind.isdigit() else None

    def matches(self, method: str, path: str, *, api_path: bool = True) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        if self.path == "*":
            return api_path
        return fnmatch.fnmatchcase(path, self.path)

    @property
    def exhausted(self) -> bool:
        return self.times > 0 and self.fired >= self.times


def parse_fault(spec: str) -> Fault:
    """Parse one fault spec (see the module docstring); raise FaultSpecError saying what is wrong."""
    text = spec.strip()
    if not text:
        raise FaultSpecError("Empty fault spec; write e.g. 429:GET:/api/v2/account/devices:times=2")
    parts = text.split(":")
    kind = parts[0].strip().lower()
    if not (kind in GENERIC_KINDS or kind in LIST_KINDS or (kind.isdigit() and 400 <= int(kind) <= 599)):
        raise FaultSpecError(
            f"Unknown fault kind {kind!r} in {spec!r}; use an HTTP status 400-599, slow, drop, malformed-json, "
            "malformed-item or repeat-page."
        )
    fault = Fault(kind=kind, spec=text)
    positional = 0
    for raw in parts[1:]:
        token = raw.strip()
        if not token:
            continue
        if "=" in token:
            for option in token.split(","):
                key, _, value = option.partition("=")
                key = key.strip()
                try:
                    if key == "times":
                        fault.times = int(value)
                    elif key == "after":
                        fault.after = int(value)
                    elif key == "retry_after":
                        fault.retry_after = float(value)
                    elif key == "delay":
                        fault.delay = float(value)
                    else:
                        raise FaultSpecError(
                            f"Unknown fault option {key!r} in {spec!r}; use times, after, retry_after or delay."
                        )
                except ValueError as exc:
                    if isinstance(exc, FaultSpecError):
                        raise
                    raise FaultSpecError(f"Option {key!r} in {spec!r} needs a number; got {value!r}.") from None
        elif token.startswith("/"):
            fault.path = token
            positional = 2
        elif positional == 0 and (token == "*" or token.isalpha()):
            if token != "*" and token.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}:
                raise FaultSpecError(f"Unknown HTTP method {token!r} in {spec!r}; use GET, POST, … or *.")
            fault.method = token.upper()
            positional = 1
        elif positional == 1 and token == "*":
            fault.path = "*"
            positional = 2
        else:
            raise FaultSpecError(f"Cannot read {token!r} in {spec!r}; paths start with '/', options are key=value.")
    if fault.times < 0 or fault.after < 0:
        raise FaultSpecError(f"times and after must be 0 or more in {spec!r}.")
    return fault


class FaultQueue:
    """Pending faults in the order they were added; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._seen: dict[int, int] = {}
        self._lock = threading.Lock()

    def add(self, fault: Fault | str) -> Fault:
        parsed = parse_fault(fault) if isinstance(fault, str) else fault
        with self._lock:
            self._faults.append(parsed)
        return parsed

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._seen.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def take(
        self, method: str, path: str, kinds: frozenset[str] | None = None, *, api_path: bool = True
    ) -> Fault | None:
        """The first pending fault of one of `kinds` (None = status kinds and generic kinds) matching the request.

        Counts the request against every matching fault's `after`, fires at most one.
        """
        with self._lock:
            for fault in self._faults:
                if fault.exhausted:
                    continue
                if kinds is None:
                    wanted = fault.status is not None or fault.kind in GENERIC_KINDS
                else:
                    wanted = fault.kind in kinds
                if not wanted or not fault.matches(method, path, api_path=api_path):
                    continue
                seen = self._seen.get(id(fault), 0)
                self._seen[id(fault)] = seen + 1
                if seen < fault.after:
                    continue
                fault.fired += 1
                return fault
        return None
