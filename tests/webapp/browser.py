"""Headless Chromium for the PWA's browser tests: one launch fixture, axe-core, sign-in.

Debian's Chromium (``/usr/bin/chromium``, or ``$LIVEHUB_CHROMIUM``) driven by Playwright
for Python; nothing is downloaded. ``browser`` is module-scoped and launched with
``browser_flags``: a test module that needs more (the host console's fake camera)
overrides that fixture. Both are registered for the whole folder by ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

CHROMIUM = os.environ.get("LIVEHUB_CHROMIUM", "/usr/bin/chromium")
#: a quiet, reproducible browser: no GPU, no background traffic, no first-run UI
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: a generated camera and microphone, allowed without a prompt (the host goes live by WHIP)
FAKE_MEDIA_FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
AXE = Path(settings.BASE_DIR) / "frontend_pwa" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
SCREENSHOTS = Path(settings.DATA_DIR) / "screenshots"
#: a shopper's phone: "HeadlessChrome" is a bot to the page-view counter (social/)
SHOPPER_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36"
)
TIMEOUT_MS = 20_000


def unavailable() -> str:
    """Why the browser tests cannot run here ('' when they can)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"{CHROMIUM} missing (apt-get install chromium)"
    if not (Path(settings.LIVEHUB_PWA_DIST) / "index.html").exists():
        return "the PWA is not built (make pwa)"
    if not AXE.exists():
        return "frontend_pwa/node_modules missing (cd frontend_pwa && npm ci)"
    return ""


@pytest.fixture(scope="module")
def browser_flags() -> list[str]:
    """Chromium's command-line flags for this module's ``browser``; override to add some."""
    return list(CHROMIUM_FLAGS)


@pytest.fixture(scope="module")
def browser(browser_flags: list[str]) -> Iterator[Any]:
    """One headless Chromium per test module (a Playwright ``Browser``)."""
    missing = unavailable()
    if missing:
        # `make test` builds the app first; on CI a missing piece is a failure, not a skip.
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls
    # are plain synchronous code, so Django's async-safety guard is relaxed for them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=browser_flags
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def axe(
    page: Any,
    name: str,
    *,
    tags: Sequence[str] = AXE_TAGS,
    impacts: frozenset[str] | None = None,
    screenshots: Path = SCREENSHOTS,
    file_prefix: str = "",
) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (only ``impacts``, if given), and a
    full-page screenshot ``<screenshots>/<file_prefix><name>.png``."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", list(tags)
    )
    page.screenshot(path=str(screenshots / f"{file_prefix}{name}.png"), full_page=True)
    return [
        {
            "page": name,
            "id": v["id"],
            "impact": v["impact"],
            "nodes": len(v["nodes"]),
            "targets": [n["target"] for n in v["nodes"]][:3],
        }
        for v in result["violations"]
        if impacts is None or v["impact"] in impacts
    ]


def sign_in(page: Any, base: str, username: str, next_path: str = "") -> None:
    """The login form with a demo-style user whose password is their username."""
    page.goto(f"{base}/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(username)
    page.get_by_role("button", name="Sign in").click()


def pay_on_sandbox(page: Any, base: str, order_number: str) -> None:
    """From the order page: pay on the sandbox's hosted page, back to an allocated order."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Pay now (sandbox)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sandbox payment")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("#status")).to_have_text("Succeeded")
    page.goto(f"{base}/orders/{order_number}")
    expect(page.get_by_test_id("order-status")).to_have_text("Allocated")


def session_cookie(user: User) -> str:
    """A ``Cookie`` header value signing ``user`` in (for clients outside the browser)."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def room_comment(base: str, code: str, cookie: str, text: str) -> dict[str, Any]:
    """A shopper's comment over a real WebSocket; returns the reply to it.

    The synchronous client: Playwright's sync API already runs an event loop here.
    """
    from websockets.sync.client import connect

    host = base.removeprefix("http://")
    with connect(
        f"ws://{host}/ws/live/{code}/",
        additional_headers={"Cookie": cookie, "Origin": base},
        open_timeout=10,
    ) as ws:
        ws.send(json.dumps({"type": "comment", "text": text, "ref": 1}))
        deadline = time.monotonic() + 10
        while True:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("ref") == 1:
                return dict(message)
