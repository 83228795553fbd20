"""The language of a WebSocket connection, as ``LocaleMiddleware`` finds a request's.

A socket has no request, so its scope is read in the same order: a ``lang`` query
parameter (the PWA passes the language the reader chose), the language cookie, then
``Accept-Language``; the result is one of ``settings.LANGUAGES``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header


def _candidates(scope: Mapping[str, Any]) -> Iterator[str]:
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    yield from query.get("lang", [])[:1]
    headers = {name.decode("latin-1").lower(): value for name, value in scope.get("headers", [])}
    cookie = SimpleCookie(headers.get("cookie", b"").decode("latin-1"))
    if settings.LANGUAGE_COOKIE_NAME in cookie:
        yield cookie[settings.LANGUAGE_COOKIE_NAME].value
    accepted = headers.get("accept-language", b"").decode("latin-1")
    yield from (code for code, _quality in parse_accept_lang_header(accepted) if code != "*")


def language_from_scope(scope: Mapping[str, Any]) -> str:
    """The first supported language the connection asks for, else ``LANGUAGE_CODE``."""
    for candidate in _candidates(scope):
        try:
            return get_supported_language_variant(candidate)
        except LookupError:
            continue
    return str(settings.LANGUAGE_CODE)
