"""The secret values of one connection, and the redaction of log text with them."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from rmmbridge.common.redact import max_encoded_length, redact_text


class Redactor:
    """The secret values of one connection (credentials plus every token obtained); thread-safe."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = {s for s in secrets if s}
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        """Remember more secret values (e.g. an access or refresh token just obtained)."""
        with self._lock:
            self._secrets.update(v for v in values if v)

    def values(self) -> list[str]:
        with self._lock:
            return list(self._secrets)

    def __call__(self, text: str) -> str:
        """`text` with every secret, bearer/basic credential and key=value secret replaced by ***."""
        return redact_text(text, self.values())

    def longest(self) -> int:
        """Length of the longest known secret in its longest encoded form (how far past a cut it can reach)."""
        with self._lock:
            return max((max_encoded_length(s) for s in self._secrets), default=0)
