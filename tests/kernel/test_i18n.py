"""A socket's language (hub.kernel.i18n) and domain errors rendered in the reader's language."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from hub.kernel.i18n import language_from_scope


def scope(query: bytes = b"", **headers: str) -> dict[str, object]:
    return {
        "query_string": query,
        "headers": [
            (name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()
        ],
    }


@pytest.mark.parametrize(
    ("connection", "language"),
    [
        (scope(), "en"),
        (scope(accept_language="zh-CN,zh;q=0.9,en;q=0.8"), "zh-hans"),
        (scope(accept_language="fr-FR, en-GB;q=0.5"), "en"),  # the first supported one
        (scope(accept_language="fr-FR, de;q=0.5"), "en"),  # none supported: LANGUAGE_CODE
        (scope(cookie="theme=dark; django_language=zh-hans", accept_language="en"), "zh-hans"),
        (scope(b"lang=en", cookie="django_language=zh-hans", accept_language="zh"), "en"),
        (scope(b"lang=zh-CN", accept_language="en"), "zh-hans"),
        (scope(b"lang=xx", accept_language="zh-TW"), "zh-hans"),  # an unknown lang is skipped
    ],
)
def test_a_socket_speaks_the_first_supported_language_it_asks_for(
    connection: dict[str, object], language: str
) -> None:
    assert language_from_scope(connection) == language


def test_an_api_error_is_in_the_readers_language(db: None, shopper: User) -> None:
    client = Client()
    client.force_login(shopper)
    english = client.get("/api/live/host/shows/").json()["error"]
    chinese = client.get("/api/live/host/shows/", HTTP_ACCEPT_LANGUAGE="zh-CN").json()["error"]
    assert english == {
        "code": "not_allowed",
        "message": "only hosts have a host console",
        "details": {},
    }
    assert chinese == {"code": "not_allowed", "message": "只有主播才有主播后台", "details": {}}
