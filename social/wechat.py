"""WeChat through wechatpy: JS-SDK config for share cards, OAuth for sign-in.

The access token and jsapi_ticket live in the Django cache (Redis when configured), so
every process shares one ticket and WeChat's daily quota is not burnt per request.
``WECHAT_API_BASE`` points wechatpy at a simulator in tests.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urldefrag

from django.conf import settings
from django.core.cache import cache
from wechatpy import WeChatClient, WeChatOAuth
from wechatpy.exceptions import WeChatClientException, WeChatOAuthException
from wechatpy.session import SessionStorage

from hub.kernel.errors import DomainError
from hub.kernel.ids import opaque_token

#: The share-card APIs the page may call (updateAppMessageShareData etc.).
JS_API_LIST = ["updateAppMessageShareData", "updateTimelineShareData", "onMenuShareWeibo"]


class WeChatUnavailable(DomainError):
    code = "wechat_unavailable"
    http_status = 502


class WeChatNotConfigured(DomainError):
    code = "wechat_not_configured"
    http_status = 503


class DjangoCacheStorage(SessionStorage):  # type: ignore[misc]
    """wechatpy session storage on the Django cache (shared by all processes)."""

    prefix = "wechatpy:"

    def get(self, key: str, default: Any = None) -> Any:
        return cache.get(self.prefix + key, default)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        cache.set(self.prefix + key, value, timeout=ttl)

    def delete(self, key: str) -> None:
        cache.delete(self.prefix + key)


class _Client(WeChatClient):  # type: ignore[misc]
    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=f"{settings.WECHAT_API_BASE}cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def _require_config() -> tuple[str, str]:
    appid, secret = settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET
    if not appid or not secret:
        raise WeChatNotConfigured("WeChat is not configured (WECHAT_APP_ID, WECHAT_APP_SECRET)")
    return appid, secret


def wechat_client() -> Any:
    appid, secret = _require_config()
    client = _Client(appid, secret, session=DjangoCacheStorage(), timeout=10)
    client.API_BASE_URL = f"{settings.WECHAT_API_BASE}cgi-bin/"
    return client


def jssdk_config(*, url: str) -> dict[str, Any]:
    """``wx.config`` parameters for the page at ``url`` (signed without the #fragment)."""
    page, _fragment = urldefrag(url)
    client = wechat_client()
    try:
        ticket = client.jsapi.get_jsapi_ticket()
    except WeChatClientException as exc:
        raise WeChatUnavailable(f"WeChat refused the jsapi_ticket request: {exc.errmsg}") from exc
    nonce = opaque_token(12)
    timestamp = int(time.time())
    signature = client.jsapi.get_jsapi_signature(nonce, ticket, timestamp, page)
    return {
        "appId": client.appid,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": signature,
        "jsApiList": JS_API_LIST,
    }


def oauth(*, redirect_uri: str, scope: str, state: str = "") -> Any:
    appid, secret = _require_config()
    if scope not in ("snsapi_base", "snsapi_userinfo"):
        raise DomainError(f"unknown WeChat OAuth scope '{scope}'")
    client = WeChatOAuth(appid, secret, redirect_uri, scope=scope, state=state)
    client.API_BASE_URL = settings.WECHAT_API_BASE
    return client


def oauth_exchange(*, code: str, redirect_uri: str, scope: str) -> dict[str, Any]:
    """Code -> openid (and the profile for snsapi_userinfo)."""
    client = oauth(redirect_uri=redirect_uri, scope=scope)
    try:
        token = client.fetch_access_token(code)
        profile: dict[str, Any] = {}
        if token.get("scope") == "snsapi_userinfo":
            profile = client.get_user_info()
    except (WeChatOAuthException, WeChatClientException) as exc:
        raise WeChatUnavailable(f"WeChat OAuth failed: {exc.errmsg}") from exc
    return {
        "openid": token["openid"],
        "unionid": token.get("unionid") or profile.get("unionid", ""),
        "nickname": profile.get("nickname", ""),
    }
