"""Sign-in by phone code, password (Argon2id) and WeChat OAuth."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from checkout.models import CartLine
from members.models import MemberProfile
from members.simulators.wechat_oauth import WeChatOAuthSimulator
from members.sms import ConsoleSmsBackend
from oms.models import SalesChannel


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    cache.clear()
    ConsoleSmsBackend.outbox = []
    yield
    cache.clear()


def _last_code() -> str:
    match = re.search(r"\b(\d{6})\b", ConsoleSmsBackend.outbox[-1][1])
    assert match is not None
    return match.group(1)


@pytest.mark.django_db
def test_phone_code_signs_in_creates_the_member_and_merges_the_cart(
    client: Client, stocked: SalesChannel
) -> None:
    client.put("/api/cart/", {"sku": "MUG-WHITE", "quantity": 2}, content_type="application/json")
    assert (
        client.post(
            "/api/members/sign-in/code/", {"phone": "13800138000"}, content_type="application/json"
        ).status_code
        == 202
    )
    wrong = client.post(
        "/api/members/sign-in/code/verify/",
        {"phone": "13800138000", "code": "000000" if _last_code() != "000000" else "111111"},
        content_type="application/json",
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "sign_in_failed"
    ok = client.post(
        "/api/members/sign-in/code/verify/",
        {"phone": "13800138000", "code": _last_code()},
        content_type="application/json",
    )
    assert ok.status_code == 200
    assert ok.json()["merged_cart_lines"] == 1
    member = MemberProfile.objects.get(phone="13800138000")
    assert CartLine.objects.get(cart__user=member.user).quantity == 2
    reused = client.post(
        "/api/members/sign-in/code/verify/",
        {"phone": "13800138000", "code": _last_code()},
        content_type="application/json",
    )
    assert reused.status_code == 401


@pytest.mark.django_db
def test_codes_are_rate_limited_per_phone(client: Client) -> None:
    first = client.post(
        "/api/members/sign-in/code/", {"phone": "13900000000"}, content_type="application/json"
    )
    second = client.post(
        "/api/members/sign-in/code/", {"phone": "13900000000"}, content_type="application/json"
    )
    assert (first.status_code, second.status_code) == (202, 429)
    assert second.json()["error"]["message"] == "Too many codes requested. Try again later."
    assert len(ConsoleSmsBackend.outbox) == 1
    bad = client.post(
        "/api/members/sign-in/code/", {"phone": "not-a-phone"}, content_type="application/json"
    )
    assert bad.status_code == 401


@pytest.mark.django_db
def test_five_wrong_codes_burn_the_code(client: Client) -> None:
    client.post(
        "/api/members/sign-in/code/", {"phone": "13700000000"}, content_type="application/json"
    )
    good = _last_code()
    wrong = "123456" if good != "123456" else "654321"
    for _ in range(5):
        client.post(
            "/api/members/sign-in/code/verify/",
            {"phone": "13700000000", "code": wrong},
            content_type="application/json",
        )
    burnt = client.post(
        "/api/members/sign-in/code/verify/",
        {"phone": "13700000000", "code": good},
        content_type="application/json",
    )
    assert burnt.status_code == 429
    assert not MemberProfile.objects.exists()


@pytest.mark.django_db
def test_password_sign_in_uses_argon2id(client: Client) -> None:
    user = User.objects.create_user("alice", password="correct horse battery")
    assert user.password.startswith("argon2$argon2id$")
    bad = client.post(
        "/api/members/sign-in/password/",
        {"username": "alice", "password": "nope"},
        content_type="application/json",
    )
    assert bad.status_code == 401
    ok = client.post(
        "/api/members/sign-in/password/",
        {"username": "alice", "password": "correct horse battery"},
        content_type="application/json",
    )
    assert ok.status_code == 200
    assert client.get("/api/members/me/").json()["points"] == 0


@pytest.mark.django_db
def test_wechat_oauth_signs_in_by_openid(client: Client, settings: object) -> None:
    simulator = WeChatOAuthSimulator()
    simulator.start()
    try:
        settings.LIVEHUB_WECHAT_OAUTH = {  # type: ignore[attr-defined]
            "app_id": simulator.app_id,
            "secret": simulator.secret,
            "redirect_uri": "http://testserver/api/members/sign-in/wechat/callback/",
            "api_base": simulator.base_url + "/",
        }
        start = client.get("/api/members/sign-in/wechat/").json()["authorize_url"]
        assert start.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?appid=")
        state = re.search(r"state=([^&#]+)", start).group(1)  # type: ignore[union-attr]
        forged = client.get(
            "/api/members/sign-in/wechat/callback/",
            {"code": simulator.issue_code("oOpenId1"), "state": "forged"},
        )
        assert forged.status_code == 401
        client.get("/api/members/sign-in/wechat/")
        state = client.session["wechat_oauth_state"]
        ok = client.get(
            "/api/members/sign-in/wechat/callback/",
            {"code": simulator.issue_code("oOpenId1"), "state": state},
        )
        assert ok.status_code == 200
        assert MemberProfile.objects.get(wechat_openid="oOpenId1")
    finally:
        simulator.stop()


@pytest.mark.django_db
def test_sign_in_errors_are_translated(client: Client) -> None:
    response = client.post(
        "/api/members/sign-in/code/",
        {"phone": "x"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.json()["error"]["message"] == "请输入有效的手机号。"
