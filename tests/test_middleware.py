"""JSON API responses are gzipped; HLS media, small bodies and streams are left alone."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.test import AsyncClient, Client, RequestFactory

from hub.middleware import JSON_GZIP_MIN_BYTES, JsonGZipMiddleware, is_json_media_type
from oms.models import ProductVariant

HLS = "/api/live/video/hls/MEDIAid01/SESSIONid01/"
PLAYLIST = (
    "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
    + "".join(f"#EXTINF:1.00000,\nseg{n:05d}.m4s\n" for n in range(120))
)
SEGMENT = b"\x00\x00\x00\x18moof" + b"\x00" * 4096  # compresses very well, must not be


@pytest.fixture
def catalogue(make_variant: Callable[..., ProductVariant]) -> list[ProductVariant]:
    return [make_variant(f"SKU-LONG-NAME-{n:03d}") for n in range(12)]


@pytest.fixture
def hls_files(settings: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]
    rendition = tmp_path / "live-video" / "MEDIAid01" / "SESSIONid01" / "v0"
    rendition.mkdir(parents=True)
    (rendition / "index.m3u8").write_text(PLAYLIST + "#EXT-X-ENDLIST\n")
    (rendition / "seg00000.m4s").write_bytes(SEGMENT)
    (rendition / "init.mp4").write_bytes(SEGMENT)
    yield rendition


@pytest.mark.django_db
def test_a_json_list_is_gzipped_and_decodes_to_the_same_json(catalogue) -> None:
    plain = Client().get("/api/products/")
    zipped = Client().get("/api/products/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert plain.status_code == zipped.status_code == 200
    assert len(plain.content) >= JSON_GZIP_MIN_BYTES
    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip"
    assert zipped["Vary"] == "Accept, Accept-Language, Cookie, Accept-Encoding"
    assert int(zipped["Content-Length"]) == len(zipped.content) < len(plain.content)
    assert json.loads(gzip.decompress(zipped.content)) == plain.json()
    assert [p["variants"][0]["sku"] for p in plain.json()["results"]] == [v.sku for v in catalogue]


@pytest.mark.django_db
def test_a_large_json_body_without_accept_encoding_still_says_vary(catalogue) -> None:
    plain = Client().get("/api/products/")
    assert "Content-Encoding" not in plain
    assert "Accept-Encoding" in [v.strip() for v in plain["Vary"].split(",")]


@pytest.mark.asyncio
async def test_async_views_get_json_gzipped_without_a_thread_hop() -> None:
    rows = [{"sku": f"SKU-{n:04d}", "name": f"Product {n}"} for n in range(100)]

    async def view(request: HttpRequest) -> JsonResponse:
        return JsonResponse(rows, safe=False)

    middleware = JsonGZipMiddleware(view)
    assert iscoroutinefunction(middleware)
    request = RequestFactory().get("/rows", HTTP_ACCEPT_ENCODING="gzip")
    response = await middleware(request)
    assert response["Content-Encoding"] == "gzip"
    assert response["Vary"] == "Accept-Encoding"
    assert json.loads(gzip.decompress(response.content)) == rows


@pytest.mark.django_db
def test_a_small_json_response_is_not_compressed(make_variant) -> None:
    make_variant("ONLY-ONE")
    response = Client().get("/api/products/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert len(response.content) < JSON_GZIP_MIN_BYTES
    assert "Content-Encoding" not in response
    assert response.json()["results"][0]["variants"][0]["sku"] == "ONLY-ONE"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("v0/index.m3u8", "application/vnd.apple.mpegurl"),
        ("v0/seg00000.m4s", "video/mp4"),
        ("v0/init.mp4", "video/mp4"),
    ],
)
def test_hls_playlists_and_segments_are_never_compressed(
    hls_files: Path, name: str, content_type: str
) -> None:
    response = Client().get(HLS + name, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert "Content-Encoding" not in response
    assert "Accept-Encoding" not in response.get("Vary", "")
    assert response.content == (hls_files / name.removeprefix("v0/")).read_bytes()


@pytest.mark.asyncio
async def test_hls_over_the_async_path_is_not_compressed(hls_files: Path) -> None:
    response = await AsyncClient().get(HLS + "v0/index.m3u8", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert response.content.decode() == PLAYLIST + "#EXT-X-ENDLIST\n"


def test_a_streaming_json_response_is_passed_through() -> None:
    chunks = [b"[", b"0," * 2000, b"0]"]

    def view(request: HttpRequest) -> StreamingHttpResponse:
        return StreamingHttpResponse(iter(chunks), content_type="application/json")

    request = RequestFactory().get("/stream", HTTP_ACCEPT_ENCODING="gzip")
    response = JsonGZipMiddleware(view)(request)
    assert response.streaming
    assert "Content-Encoding" not in response
    assert b"".join(response.streaming_content) == b"".join(chunks)


def test_an_already_encoded_json_body_is_not_encoded_twice() -> None:
    body = gzip.compress(json.dumps(list(range(2000))).encode())

    def view(request: HttpRequest) -> JsonResponse:
        response = JsonResponse({})
        response.content = body
        response["Content-Encoding"] = "gzip"
        return response

    request = RequestFactory().get("/already", HTTP_ACCEPT_ENCODING="gzip")
    response = JsonGZipMiddleware(view)(request)
    assert response.content == body


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("application/vnd.oai.openapi+json", True),
        ("application/problem+json; charset=utf-8", True),
        ("application/vnd.apple.mpegurl", False),
        ("video/mp4", False),
        ("text/html; charset=utf-8", False),
        ("text/json", False),
        ("", False),
    ],
)
def test_which_media_types_count_as_json(content_type: str, expected: bool) -> None:
    assert is_json_media_type(content_type) is expected
