"""The app shell of a landing page carries its first API answers and preloads (webapp.boot)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from oms.models import ProductVariant

HEAD_INDEX = (
    b"<!doctype html><html lang=zh-CN><head><title>LiveHub</title>"
    b'<script type="module" src="/static/pwa/assets/index-E.js"></script></head>'
    b"<body><div id=app></div></body></html>"
)
#: Vite's build manifest: the entry, a shared chunk it imports, and two lazy pages
VITE_MANIFEST = {
    "index.html": {"file": "assets/index-E.js", "isEntry": True, "imports": ["_vue-V.js"]},
    "_vue-V.js": {"file": "assets/vue-V.js"},
    "_catalog-C.js": {"file": "assets/catalog-C.js", "imports": ["_vue-V.js"]},
    "src/views/HomeView.vue": {
        "file": "assets/HomeView-H.js",
        "isDynamicEntry": True,
        "imports": ["index.html", "_catalog-C.js"],
        "css": ["assets/HomeView-H.css"],
    },
    "src/views/ProductView.vue": {
        "file": "assets/ProductView-P.js",
        "isDynamicEntry": True,
        "imports": ["index.html", "_catalog-C.js"],
    },
}
#: what a browser sends for a page: the shell's Accept must not reach the inlined reads
BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def shell(tmp_path: Path, settings: Any) -> Path:
    (tmp_path / "index.html").write_bytes(HEAD_INDEX)
    (tmp_path / ".vite").mkdir()
    (tmp_path / ".vite" / "manifest.json").write_text(json.dumps(VITE_MANIFEST))
    settings.LIVEHUB_PWA_DIST = tmp_path
    return tmp_path


def _boot(html: bytes) -> dict[str, Any]:
    match = re.search(rb'<script id="livehub-boot" type="application/json">(.*?)</script>', html)
    assert match is not None, html
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def _links(html: bytes) -> list[str]:
    return [m.decode() for m in re.findall(rb"<link [^>]+>", html)]


def test_the_home_shell_carries_the_first_catalogue_page_and_the_shows(
    client: Client, shell: Path, make_variant: Callable[..., ProductVariant]
) -> None:
    for _ in range(18):
        make_variant()

    html = client.get("/", **BROWSER).content  # type: ignore[arg-type]

    boot = _boot(html)
    assert sorted(boot) == ["/api/live/shows/", "/api/products/?limit=16"]
    assert boot["/api/products/?limit=16"] == client.get("/api/products/?limit=16").json()
    assert boot["/api/live/shows/"] == client.get("/api/live/shows/").json()
    page = boot["/api/products/?limit=16"]
    assert (page["count"], len(page["results"]), page["results"][0]["name_en"]) == (
        18,
        16,
        "Product 1",
    )
    assert _links(html) == [
        '<link rel="modulepreload" crossorigin href="/static/pwa/assets/HomeView-H.js">',
        '<link rel="modulepreload" crossorigin href="/static/pwa/assets/catalog-C.js">',
        '<link rel="stylesheet" crossorigin href="/static/pwa/assets/HomeView-H.css">',
    ]
    assert html.index(b"livehub-boot") < html.index(b"</head>")


def test_a_product_shell_carries_the_product_and_preloads_its_image(
    client: Client, shell: Path, tee: ProductVariant
) -> None:
    product = tee.product
    product.image = "products/tee.png"
    product.save()

    html = client.get(f"/p/{product.slug}", **BROWSER).content  # type: ignore[arg-type]

    boot = _boot(html)
    assert sorted(boot) == ["/api/locations/", f"/api/products/{product.slug}/"]
    assert boot[f"/api/products/{product.slug}/"]["variants"][0]["sku"] == "TEE-RED-M"
    assert _links(html) == [
        '<link rel="modulepreload" crossorigin href="/static/pwa/assets/ProductView-P.js">',
        '<link rel="modulepreload" crossorigin href="/static/pwa/assets/catalog-C.js">',
        '<link rel="preload" as="image" fetchpriority="high"'
        ' href="http://testserver/media/products/tee.png">',
    ]


def test_an_unknown_product_inlines_no_answer_but_still_gets_the_shell(
    client: Client, shell: Path, db: None
) -> None:
    response = client.get("/p/no-such-thing", **BROWSER)  # type: ignore[arg-type]

    assert response.status_code == 200
    assert sorted(_boot(response.content)) == ["/api/locations/"]  # the 404 is left out


def test_pages_without_boot_data_get_the_shell_as_built(client: Client, shell: Path) -> None:
    for path in ("/cart", "/staff/sync", "/live/studio/abc", "/search"):
        assert client.get(path, **BROWSER).content == HEAD_INDEX  # type: ignore[arg-type]


def test_the_shell_is_gzipped_for_browsers_that_accept_it(
    client: Client, shell: Path, db: None
) -> None:
    response = client.get("/", HTTP_ACCEPT_ENCODING="gzip")

    assert response["Content-Encoding"] == "gzip"
    assert b"livehub-boot" in gzip.decompress(response.content)
