"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) keyed from settings."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    secret = getattr(settings, "CHANNELS_SYNC_CREDENTIALS_KEY", "") or settings.SECRET_KEY
    digest = hashlib.sha256(f"livehub.channels_sync:{secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def credentials_encrypt(credentials: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def credentials_decrypt(token: str) -> dict[str, Any]:
    try:
        data = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ValueError("credentials cannot be decrypted with the configured key") from exc
    if not isinstance(data, dict):
        raise ValueError("credentials are not a JSON object")
    return data
