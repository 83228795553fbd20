from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.webapp.conftest import INDEX, MANIFEST, SW


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search",
        "/login",
        "/p/tee-red",
        "/orders",
        "/orders/A1B2C3",
        "/staff",
        "/staff/pick-list",
        "/staff/orders/A1B2C3",
        "/live/show-1",
        "/app/products/tee-red",
        "/cart",
        "/checkout",
        "/me",
        "/me/shares",
    ],
)
def test_every_app_route_gets_the_shell(client: Client, built_pwa: Path, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.content == INDEX
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    assert "csrftoken" in response.cookies


def test_server_routes_are_not_swallowed_by_the_shell(
    client: Client, built_pwa: Path, db: None
) -> None:
    assert client.get("/nope").status_code == 404
    assert client.get("/me/shares/extra/deep").status_code == 404
    assert client.get("/cartx").status_code == 404
    assert client.get("/api/products/").headers["Content-Type"] == "application/json"
    assert client.get("/healthz").status_code == 200


def test_the_service_worker_is_served_from_the_root_with_root_scope(
    client: Client, built_pwa: Path
) -> None:
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response.content == SW
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"


def test_the_manifest_has_its_media_type(client: Client, built_pwa: Path) -> None:
    response = client.get("/manifest.webmanifest")

    assert response.status_code == 200
    assert response.content == MANIFEST
    assert response["Content-Type"] == "application/manifest+json"


def test_writes_to_the_shell_are_refused(client: Client, built_pwa: Path) -> None:
    assert client.post("/").status_code == 405
    assert client.post("/sw.js").status_code == 405


def test_an_unbuilt_app_says_how_to_build_it(client: Client, unbuilt_pwa: Path) -> None:
    for path in ("/", "/sw.js", "/manifest.webmanifest"):
        response = client.get(path)

        assert response.status_code == 503
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert "make pwa" in response.content.decode()


def test_the_unbuilt_message_speaks_chinese_to_chinese_browsers(
    client: Client, unbuilt_pwa: Path
) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 503
    message = "网页应用尚未构建。请运行 `make pwa`，然后刷新。"  # noqa: RUF001
    assert response.content.decode().startswith(message)
