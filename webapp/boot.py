"""What the app shell carries for the page it opens, so the first paint needs no round trip.

A phone on a slow network pays one round trip per step of: HTML → entry script → page
chunk → API answer → image. For the pages people land on (home, a product) the shell
served by ``webapp.views.app_shell`` therefore also carries:

- the answers of the page's first API reads, inlined as JSON (``<script
  id="livehub-boot">``, read once by ``frontend_pwa/src/api/client.ts``); they are produced
  by dispatching the real API views in-process, so they are exactly what the client's own
  ``GET`` would have returned;
- ``modulepreload`` links for the page's chunks (from Vite's build manifest), fetched in
  parallel with the entry script instead of after it;
- a high-priority preload of the image that is the page's largest paint.

A shell served by the service worker (offline, or on a later visit) has none of this and
the client fetches as usual.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, resolve
from django.utils.html import json_script

from webapp.shell import dist_dir

#: the element the client reads the inlined API answers from (api/client.ts BOOT_ID)
BOOT_ID = "livehub-boot"
#: cards on the first catalogue page: frontend_pwa/src/stores/catalog.ts PAGE_SIZE
CATALOGUE_PAGE_SIZE = 16
#: first cards whose images are preloaded: HomeView.vue EAGER
EAGER_IMAGES = 2
#: where Vite's build manifest lands (``build.manifest`` in vite.config.ts)
VITE_MANIFEST = ".vite/manifest.json"
ASSET_BASE = "/static/pwa/"

Json = dict[str, Any]


def _catalogue_images(answers: dict[str, Any]) -> list[str]:
    page = answers.get(f"/api/products/?limit={CATALOGUE_PAGE_SIZE}") or {}
    return [p["image"] for p in page.get("results", [])[:EAGER_IMAGES] if p.get("image")]


def _product_image(answers: dict[str, Any]) -> list[str]:
    image = next((a.get("image") for k, a in answers.items() if k.startswith("/api/products/")), "")
    return [image] if image else []


@dataclass(frozen=True)
class RouteBoot:
    """One client-side route (webapp.urls SPA_ROUTES path, without the leading slash)."""

    pattern: re.Pattern[str]
    view: str  #: the page component's source path, a key of the Vite manifest
    reads: Callable[[re.Match[str]], list[str]]  #: the page's first GETs, as the client builds them
    images: Callable[[dict[str, Any]], list[str]] = field(default=lambda answers: [])


ROUTES = (
    RouteBoot(
        re.compile(r"^$"),
        "src/views/HomeView.vue",
        lambda m: [f"/api/products/?limit={CATALOGUE_PAGE_SIZE}", "/api/live/shows/"],
        _catalogue_images,
    ),
    RouteBoot(
        re.compile(r"^p/(?P<slug>[\w-]+)/?$"),
        "src/views/ProductView.vue",
        lambda m: [f"/api/products/{m['slug']}/", "/api/locations/"],
        _product_image,
    ),
    RouteBoot(
        re.compile(r"^live/(?!studio(?:/|$))[\w-]+/?$"),
        "src/views/LiveRoomView.vue",
        lambda m: [],
    ),
)


def api_get(request: HttpRequest, url: str) -> Any | None:
    """The JSON a same-session ``GET url`` returns (status 200), else ``None``.

    The request is a copy of the shell's (same user, session, language), pointed at the
    API route and dispatched to its view without another trip through the middleware.
    """
    path, _, query = url.partition("?")
    try:
        match = resolve(path)
    except Resolver404:
        return None
    sub = copy.copy(request)
    sub.__dict__.pop("headers", None)  # cached from the shell's META (its Accept is HTML)
    sub.path = sub.path_info = path
    sub.method = "GET"
    sub.GET = QueryDict(query)
    sub.META = {
        **request.META,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REQUEST_METHOD": "GET",
        "HTTP_ACCEPT": "application/json",
    }
    response = match.func(sub, *match.args, **match.kwargs)
    render = getattr(response, "render", None)
    if callable(render):
        render()
    if response.status_code != 200 or "json" not in response.get("Content-Type", ""):
        return None
    return json.loads(response.content)


def _vite_manifest() -> Json:
    """The build's manifest, read again only when a new build replaced it."""
    path = dist_dir() / VITE_MANIFEST
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return {}
    return _manifest_at(str(path), stamp)


@functools.lru_cache(maxsize=4)
def _manifest_at(path: str, stamp: int) -> Json:
    try:
        data: Json = json.loads(Path(path).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data


def _chunk_files(manifest: Json, key: str) -> tuple[list[str], list[str]]:
    """The JS files a dynamic entry needs beyond the app's entry chunk, and its CSS."""
    entry = next((k for k, v in manifest.items() if v.get("isEntry")), "")
    loaded: set[str] = set()
    stack = [entry]
    while stack:  # the entry and its static imports are already in index.html
        item = stack.pop()
        if item in loaded or item not in manifest:
            continue
        loaded.add(item)
        stack.extend(manifest[item].get("imports", []))
    js: list[str] = []
    css: list[str] = []
    seen: set[str] = set()
    stack = [key]
    while stack:
        item = stack.pop(0)
        if item in seen or item in loaded or item not in manifest:
            continue
        seen.add(item)
        js.append(manifest[item]["file"])
        css.extend(c for c in manifest[item].get("css", []) if c not in css)
        stack.extend(manifest[item].get("imports", []))
    return js, css


def head_for(request: HttpRequest, path: str) -> str:
    """The ``<head>`` additions for one route ('' when the route gets none)."""
    route = next((r for r in ROUTES if r.pattern.match(path)), None)
    if route is None:
        return ""
    match = route.pattern.match(path)
    assert match is not None
    answers: dict[str, Any] = {}
    for url in route.reads(match):
        answer = api_get(request, url)
        if answer is not None:
            answers[url] = answer
    js, css = _chunk_files(_vite_manifest(), route.view)
    tags = [f'<link rel="modulepreload" crossorigin href="{ASSET_BASE}{escape(f)}">' for f in js]
    tags += [f'<link rel="stylesheet" crossorigin href="{ASSET_BASE}{escape(f)}">' for f in css]
    tags += [
        f'<link rel="preload" as="image" fetchpriority="high" href="{escape(src)}">'
        for src in route.images(answers)
    ]
    if answers:
        tags.append(str(json_script(answers, BOOT_ID)))
    return "".join(tags)


def with_boot(body: bytes, request: HttpRequest, path: str) -> bytes:
    """``index.html`` with the route's additions before ``</head>`` (unchanged without one)."""
    marker = b"</head>"
    if marker not in body:
        return body
    head = head_for(request, path)
    if not head:
        return body
    return body.replace(marker, head.encode() + marker, 1)
