"""A local stand-in for api.weixin.qq.com's web OAuth token endpoint."""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qsl, urlsplit

from payments.simulators.base import Reply, SimulatorServer


class WeChatOAuthSimulator(SimulatorServer):
    def __init__(self, *, app_id: str = "wx5f1c0a0a0a0a0a0a", secret: str = "") -> None:
        super().__init__()
        self.app_id = app_id
        self.secret = secret or secrets.token_hex(16)
        self.codes: dict[str, str] = {}  #: one-time code -> openid

    def issue_code(self, openid: str) -> str:
        """The user approved in WeChat: a one-time code is redirected back to us."""
        code = secrets.token_hex(16)
        self.codes[code] = openid
        return code

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(path)
        params = dict(parse_qsl(parts.query))
        if parts.path != "/sns/oauth2/access_token":
            return self._json({"errcode": 40001, "errmsg": "invalid api"})
        if params.get("appid") != self.app_id or params.get("secret") != self.secret:
            return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
        openid = self.codes.pop(params.get("code", ""), None)
        if params.get("grant_type") != "authorization_code" or openid is None:
            return self._json({"errcode": 40029, "errmsg": "invalid code"})
        return self._json(
            {
                "access_token": secrets.token_hex(32),
                "expires_in": 7200,
                "refresh_token": secrets.token_hex(32),
                "openid": openid,
                "scope": "snsapi_base",
            }
        )

    def _json(self, data: dict[str, object]) -> Reply:
        return Reply(200, json.dumps(data).encode(), {"Content-Type": "application/json"})
