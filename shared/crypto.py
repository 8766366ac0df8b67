"""Field encryption for personal data at rest, and a keyed hash for lookups.

AES-256-GCM with a key from configuration (`<SERVICE>_DATA_KEY` or `DATA_KEY`, 32 bytes
base64url); the one-machine run generates one under the data folder. The keyed hash
(HMAC-SHA256 with a key derived from the same secret) lets a unique index and a search
work on values that are stored only encrypted.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

VERSION = b"v1"


def load_key(configured: str | None, fallback_file: Path) -> bytes:
    if configured:
        key = base64.urlsafe_b64decode(configured + "=" * (-len(configured) % 4))
    else:
        if not fallback_file.exists():
            fallback_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = fallback_file.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
            tmp.write_bytes(base64.urlsafe_b64encode(os.urandom(32)))
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, fallback_file)  # first process wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        key = base64.urlsafe_b64decode(fallback_file.read_bytes())
    if len(key) != 32:
        raise ValueError("the data key must be 32 bytes (base64url)")
    return key


class FieldCipher:
    def __init__(self, key: bytes):
        self._aead = AESGCM(key)
        self._hash_key = hmac.new(key, b"lookup-hash", hashlib.sha256).digest()

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), VERSION)
        return VERSION.decode() + ":" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        version, data = token.split(":", 1)
        raw = base64.urlsafe_b64decode(data)
        return self._aead.decrypt(raw[:12], raw[12:], version.encode()).decode()

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()


class CipherSlot:
    """The key a service's encrypted columns use: its bootstrap loads the key and sets it
    here once, before any row is read or written."""

    def __init__(self, service: str):
        self.service = service
        self._cipher: FieldCipher | None = None

    def use(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    @property
    def cipher(self) -> FieldCipher:
        if self._cipher is None:
            raise RuntimeError(f"{self.service}'s data key is not loaded (its bootstrap() sets it)")
        return self._cipher


class Encrypted(TypeDecorator[str]):
    """A text column stored encrypted (AES-GCM) and read back in clear: phones and emails at
    rest are as unreadable as ID numbers. Equality lookups go through a keyed-hash column
    kept beside it; a value written before encryption was introduced reads as it was."""
    impl = Text
    cache_ok = True

    def __init__(self, slot: CipherSlot):
        super().__init__()
        self.slot = slot

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else self.slot.cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None or not value.startswith(VERSION.decode() + ":"):
            return value
        return self.slot.cipher.decrypt(value)
