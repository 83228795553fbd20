"""The built PWA on disk: where it lives and how its entry files are read.

The Vite build writes ``frontend_pwa/dist``; ``settings.LIVEHUB_PWA_DIST`` points there.
Hashed assets are static files (whitenoise, prefix ``pwa/``); the three entry files
(``index.html``, ``sw.js``, ``manifest.webmanifest``) are served by ``webapp.views``
from the site root so the service worker may control every page.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

#: entry files served from the site root, with their content types
ROOT_FILES: dict[str, str] = {
    "sw.js": "text/javascript; charset=utf-8",
    "manifest.webmanifest": "application/manifest+json",
}


class ShellMissing(Exception):
    """The PWA has not been built (``cd frontend_pwa && npm ci && npm run build``)."""


def dist_dir() -> Path:
    return Path(settings.LIVEHUB_PWA_DIST)


def read_entry(name: str) -> bytes:
    """The bytes of one entry file of the build, or ``ShellMissing``."""
    if name != "index.html" and name not in ROOT_FILES:
        raise ValueError(f"not a PWA entry file: {name}")
    path = dist_dir() / name
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ShellMissing(f"{path} is missing; build the PWA with `make pwa`") from exc
