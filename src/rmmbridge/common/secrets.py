"""Encryption of secrets at rest with Fernet; MultiFernet allows key rotation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretDecryptError(Exception):
    """A stored secret cannot be decrypted with any configured key: restore the key that wrote it."""


class SecretBox:
    """Encrypts with the first key, decrypts with any of them (newest first)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])

    def encrypt_json(self, value: dict[str, Any]) -> str:
        """Encrypt a JSON-serialisable mapping into a text token."""
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode("utf-8")).decode("ascii")

    def decrypt_json(self, token: str) -> dict[str, Any]:
        """Decrypt a token written by encrypt_json."""
        try:
            data = self._fernet.decrypt(token.encode("ascii"))
        except InvalidToken:
            raise SecretDecryptError(
                "Stored credentials cannot be decrypted: RMMBRIDGE_ENCRYPTION_KEYS (or the encryption_key "
                "file in RMMBRIDGE_HOME) no longer holds the key that encrypted them."
            ) from None
        result: dict[str, Any] = json.loads(data)
        return result

    def rotate(self, token: str) -> str:
        """Re-encrypt a token with the newest key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


def default_box() -> SecretBox:
    """The SecretBox built from RMMBRIDGE_ENCRYPTION_KEYS or the key file in RMMBRIDGE_HOME."""
    from rmmbridge.common.home import encryption_keys

    return SecretBox(encryption_keys())
