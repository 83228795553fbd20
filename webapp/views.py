"""Edges that serve the built PWA: the app shell for every client-side route, the
service worker and the web app manifest from the site root."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe

from webapp.boot import with_boot
from webapp.shell import ROOT_FILES, ShellMissing, read_entry

#: the shell is tiny and names hashed assets, so it is always revalidated
NO_CACHE = "no-cache"


def _missing(exc: ShellMissing) -> HttpResponse:
    message = _("The web app has not been built yet. Run `make pwa`, then reload.")
    return HttpResponse(f"{message}\n{exc}\n", status=503, content_type="text/plain; charset=utf-8")


@require_safe
@ensure_csrf_cookie
@gzip_page
def app_shell(request: HttpRequest, path: str = "") -> HttpResponse:
    """index.html for ``/`` and every SPA route; the router picks the page client-side.

    Landing pages also get their first API answers and preloads inlined (webapp.boot).
    """
    try:
        body = with_boot(read_entry("index.html"), request, path)
    except ShellMissing as exc:
        return _missing(exc)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = NO_CACHE
    return response


@require_safe
def root_file(request: HttpRequest, name: str) -> HttpResponse:
    """``/sw.js`` and ``/manifest.webmanifest``: at the root so the worker's scope is ``/``."""
    try:
        body = read_entry(name)
    except ShellMissing as exc:
        return _missing(exc)
    response = HttpResponse(body, content_type=ROOT_FILES[name])
    response["Cache-Control"] = NO_CACHE
    if name == "sw.js":
        response["Service-Worker-Allowed"] = "/"
    return response
