"""The application server's VAPID key pair: from settings, else generated once to a file."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid, b64urldecode, b64urlencode


def _raw_private(vapid: Vapid) -> str:
    number = vapid.private_key.private_numbers().private_value
    return b64urlencode(number.to_bytes(32, "big"))


def _load_or_create(path: Path) -> str:
    if path.is_file():
        return str(json.loads(path.read_text())["private_key"])
    vapid = Vapid()
    vapid.generate_keys()
    raw = _raw_private(vapid)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once keep the first key, never two different ones
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return str(json.loads(path.read_text())["private_key"])
    with os.fdopen(fd, "w") as handle:
        json.dump({"private_key": raw}, handle)
    return raw


@lru_cache(maxsize=4)
def _vapid(private_key: str) -> Vapid:
    return Vapid.from_raw(private_key.encode())


def vapid_private_key() -> str:
    """base64url raw private key (``LIVEHUB_VAPID_PRIVATE_KEY`` or the key file's)."""
    return settings.LIVEHUB_VAPID_PRIVATE_KEY or _load_or_create(Path(settings.LIVEHUB_VAPID_FILE))


def vapid() -> Vapid:
    return _vapid(vapid_private_key())


def application_server_key() -> str:
    """The public key browsers pass to ``PushManager.subscribe`` (uncompressed P-256 point)."""
    point = vapid().public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64urlencode(point)


def is_valid_key(value: str, *, size: int) -> bool:
    try:
        return len(b64urldecode(value.encode())) == size
    except (ValueError, TypeError):
        return False
