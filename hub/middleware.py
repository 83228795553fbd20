"""HTTP middleware of the whole site that belongs to no one app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware

#: JSON bodies smaller than this are sent as they are: gzip would save a few bytes at best
JSON_GZIP_MIN_BYTES = 1024


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type (OpenAPI, problem details), any params."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class JsonGZipMiddleware:
    """Gzip JSON API responses of at least ``JSON_GZIP_MIN_BYTES``, nothing else.

    Django's ``GZipMiddleware`` does the compressing (``Accept-Encoding`` negotiation,
    ``Vary``, weak ETags, the BREACH length padding); this only decides which responses
    it sees. HLS playlists, media segments and parts, images and streaming responses
    pass through untouched: media is compressed already and live playback is latency
    sensitive. Like ``RequestObservabilityMiddleware`` it is sync and async capable, so
    async views (HLS blocking reloads) take no thread hop here.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._gzip = GZipMiddleware(get_response)  # only its process_response is used
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        response: HttpResponseBase = self.get_response(request)
        return self._maybe_compress(request, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        response = await get_response(request)
        return self._maybe_compress(request, response)

    def _maybe_compress(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if response.streaming or response.has_header("Content-Encoding"):
            return response
        if not is_json_media_type(response.get("Content-Type", "")):
            return response
        if len(response.content) < JSON_GZIP_MIN_BYTES:  # type: ignore[attr-defined]
            return response
        compressed: HttpResponseBase = self._gzip.process_response(request, response)
        return compressed
