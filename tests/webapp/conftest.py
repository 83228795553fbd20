"""A fake-free build directory for the glue tests: real files, written per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

# Headless Chromium for every browser test in this folder (tests/webapp/browser.py).
from tests.webapp.browser import browser, browser_flags  # noqa: F401

INDEX = b"<!doctype html><html lang=zh-CN><title>LiveHub</title><div id=app></div></html>"
SW = b"self.addEventListener('fetch', () => {})"
MANIFEST = b'{"name": "LiveHub", "start_url": "/", "scope": "/"}'


@pytest.fixture
def built_pwa(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "sw.js").write_bytes(SW)
    (tmp_path / "manifest.webmanifest").write_bytes(MANIFEST)
    with override_settings(LIVEHUB_PWA_DIST=tmp_path):
        yield tmp_path


@pytest.fixture
def unbuilt_pwa(tmp_path: Path):  # type: ignore[no-untyped-def]
    with override_settings(LIVEHUB_PWA_DIST=tmp_path / "missing"):
        yield tmp_path / "missing"
