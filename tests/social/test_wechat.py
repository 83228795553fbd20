"""WeChat JS-SDK config and OAuth sign-in via wechatpy against a local WeChat simulator."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings

from social.models import WeChatIdentity
from social.simulators.wechat import WeChatSimulator

pytestmark = pytest.mark.django_db


@pytest.fixture
def wechat() -> Iterator[WeChatSimulator]:
    sim = WeChatSimulator(appid="wx1234567890abcdef", secret="s3cr3t").start()
    cache.delete_many(
        [
            f"wechatpy:{sim.appid}_access_token",
            f"wechatpy:{sim.appid}_jsapi_ticket",
            f"wechatpy:{sim.appid}_jsapi_ticket_expires_at",
        ]
    )
    with override_settings(
        WECHAT_APP_ID=sim.appid, WECHAT_APP_SECRET=sim.secret, WECHAT_API_BASE=sim.url
    ):
        yield sim
    sim.stop()


def test_jssdk_config_is_signed_over_the_url_without_fragment(wechat: WeChatSimulator) -> None:
    page = "https://shop.example.com/app/products/red-tee?share=abc"
    response = Client().get("/api/social/wechat/jssdk-config", {"url": page + "#reviews"})
    assert response.status_code == 200
    cfg = response.json()
    # The documented algorithm: sha1 of the sorted, &-joined key=value pairs.
    raw = (
        f"jsapi_ticket={wechat.ticket}&noncestr={cfg['nonceStr']}"
        f"&timestamp={cfg['timestamp']}&url={page}"
    )
    assert cfg["signature"] == hashlib.sha1(raw.encode()).hexdigest()
    assert cfg["appId"] == wechat.appid
    assert "updateAppMessageShareData" in cfg["jsApiList"]


def test_jsapi_ticket_is_cached_between_requests(wechat: WeChatSimulator) -> None:
    for _ in range(3):
        Client().get("/api/social/wechat/jssdk-config", {"url": "https://shop.example.com/"})
    assert wechat.calls == ["/cgi-bin/token", "/cgi-bin/ticket/getticket"]


def test_wechat_refusal_is_a_502_with_the_reason(wechat: WeChatSimulator) -> None:
    with override_settings(WECHAT_APP_SECRET="wrong"):
        response = Client().get("/api/social/wechat/jssdk-config", {"url": "https://x.example/"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "wechat_unavailable"


def test_without_configuration_wechat_is_a_503(db: None) -> None:
    with override_settings(WECHAT_APP_ID="", WECHAT_APP_SECRET=""):
        response = Client().get("/api/social/wechat/jssdk-config", {"url": "https://x.example/"})
    assert response.status_code == 503


def _start(client: Client, scope: str) -> str:
    response = client.get("/api/social/wechat/oauth/start", {"scope": scope, "next": "/app/me"})
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert location.netloc == "open.weixin.qq.com"
    assert location.fragment == "wechat_redirect"
    query = parse_qs(location.query)
    assert query["scope"] == [scope]
    return query["state"][0]


def test_oauth_userinfo_signs_in_a_new_shopper_once(wechat: WeChatSimulator) -> None:
    for _ in range(2):
        client = Client()
        state = _start(client, "snsapi_userinfo")
        code = wechat.issue_code(
            openid="o6_bmjrPTlm6_2sgVt7hMZOPfL2M", scope="snsapi_userinfo", nickname="小明"
        )
        response = client.get("/api/social/wechat/oauth/callback", {"code": code, "state": state})
        assert response.status_code == 302
        assert response["Location"] == "/app/me"
    identity = WeChatIdentity.objects.get()
    assert (identity.openid, identity.nickname) == ("o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "小明")
    assert User.objects.filter(wechat_identity=identity).count() == 1
    assert client.session["_auth_user_id"] == str(identity.user_id)


def test_oauth_callback_with_a_foreign_state_signs_in_nobody(wechat: WeChatSimulator) -> None:
    client = Client()
    _start(client, "snsapi_base")
    code = wechat.issue_code(openid="o_other", scope="snsapi_base")
    response = client.get("/api/social/wechat/oauth/callback", {"code": code, "state": "forged"})
    assert response.status_code == 400
    assert WeChatIdentity.objects.count() == 0
    assert "_auth_user_id" not in client.session


def test_reused_code_is_refused(wechat: WeChatSimulator) -> None:
    code = wechat.issue_code(openid="o_base", scope="snsapi_base")
    first, second = Client(), Client()
    response = first.get(
        "/api/social/wechat/oauth/callback", {"code": code, "state": _start(first, "snsapi_base")}
    )
    assert response.status_code == 302
    response = second.get(
        "/api/social/wechat/oauth/callback", {"code": code, "state": _start(second, "snsapi_base")}
    )
    assert response.status_code == 502
    assert WeChatIdentity.objects.count() == 1


def test_open_redirect_is_refused(wechat: WeChatSimulator) -> None:
    response = Client().get("/api/social/wechat/oauth/start", {"next": "https://evil.example/"})
    assert response.status_code == 400
