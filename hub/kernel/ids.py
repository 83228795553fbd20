"""Opaque, unguessable ids for anything that leaves the system."""

from __future__ import annotations

import secrets

#: Crockford-style alphabet without look-alikes (no 0/O, 1/I/L), easy to read aloud at a till.
HUMAN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def opaque_token(nbytes: int = 16) -> str:
    """A URL-safe random token (128 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def human_code(length: int = 8) -> str:
    """A short random code for people to type or say (pick-up codes, RMA numbers)."""
    return "".join(secrets.choice(HUMAN_ALPHABET) for _ in range(length))
