"""Members' ID numbers and phones at rest: AES-256-GCM ciphertext (MEMBER_DATA_KEY) and a keyed HMAC-SHA256
(MEMBER_LOOKUP_KEY) to find a member by ID number and refuse a duplicate without decrypting anything.

Keys come from the environment; in development each is made once into `var/` (never committed), like the
gateway's JWT key. A key is any string of at least 32 random characters; AES uses its SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kit.config import dev_secret, var_dir

MIN_KEY_LENGTH = 32
PREFIX = "v1:"  # the format of what is stored, so a later key rotation can tell the two apart


@dataclass(frozen=True)
class PersonalDataCipher:
    data_key: str
    lookup_key: str

    def __post_init__(self) -> None:
        for name, key in (("MEMBER_DATA_KEY", self.data_key), ("MEMBER_LOOKUP_KEY", self.lookup_key)):
            if len(key) < MIN_KEY_LENGTH:
                raise ValueError(f"{name} must be at least {MIN_KEY_LENGTH} characters")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PersonalDataCipher:
        env = os.environ if env is None else env
        folder = var_dir(env)
        return cls(
            data_key=env.get("MEMBER_DATA_KEY") or dev_secret(folder / "member-data.key"),
            lookup_key=env.get("MEMBER_LOOKUP_KEY") or dev_secret(folder / "member-lookup.key"),
        )

    def _aes(self) -> AESGCM:
        return AESGCM(hashlib.sha256(self.data_key.encode()).digest())

    def encrypt(self, value: str, *, purpose: str) -> str:
        """`purpose` (the field name) is bound in as associated data: a phone's ciphertext never decrypts
        as an ID number."""
        nonce = secrets.token_bytes(12)
        sealed = self._aes().encrypt(nonce, value.encode(), purpose.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str, *, purpose: str) -> str:
        if not stored.startswith(PREFIX):
            raise ValueError("unknown ciphertext format")
        raw = base64.b64decode(stored[len(PREFIX) :])
        return self._aes().decrypt(raw[:12], raw[12:], purpose.encode()).decode()

    def lookup_hash(self, value: str, *, purpose: str) -> str:
        return hmac.new(self.lookup_key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
