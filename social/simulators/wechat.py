"""A local simulator of the WeChat Official Account endpoints wechatpy calls.

Implements the documented request/response formats (errcode/errmsg on failure):
- ``GET /cgi-bin/token?grant_type=client_credential&appid&secret``
  -> ``{"access_token", "expires_in": 7200}``
- ``GET /cgi-bin/ticket/getticket?access_token&type=jsapi``
  -> ``{"errcode": 0, "errmsg": "ok", "ticket", "expires_in": 7200}``
- ``GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``
  -> ``{"access_token", "expires_in", "refresh_token", "openid", "scope"[, "unionid"]}``
- ``GET /sns/userinfo?access_token&openid&lang`` -> ``{"openid", "nickname", ...}``
Codes are single use (errcode 40163 when reused), as on the real platform.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class WeChatSimulator:
    appid: str
    secret: str
    tokens: set[str] = field(default_factory=set)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    ticket: str = field(default_factory=lambda: "sM4AOVdWfPE4DxkXGEs8V" + secrets.token_hex(8))
    calls: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def issue_code(self, *, openid: str, scope: str, nickname: str = "", unionid: str = "") -> str:
        """What WeChat's authorize page does when the user agrees: a one-time code."""
        code = secrets.token_hex(16)
        self.codes[code] = {
            "openid": openid,
            "scope": scope,
            "nickname": nickname,
            "unionid": unionid,
        }
        return code

    def handle(self, path: str, q: dict[str, str]) -> dict[str, Any]:
        self.calls.append(path)
        if path == "/cgi-bin/token":
            if q.get("appid") != self.appid or q.get("secret") != self.secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            token = secrets.token_hex(24)
            self.tokens.add(token)
            return {"access_token": token, "expires_in": 7200}
        if path == "/cgi-bin/ticket/getticket":
            if q.get("access_token") not in self.tokens:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            return {"errcode": 0, "errmsg": "ok", "ticket": self.ticket, "expires_in": 7200}
        if path == "/sns/oauth2/access_token":
            if q.get("appid") != self.appid or q.get("secret") != self.secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            grant = self.codes.pop(q.get("code", ""), None)
            if grant is None:
                return {"errcode": 40163, "errmsg": "code been used"}
            token = secrets.token_hex(24)
            self.user_tokens[token] = grant
            body = {
                "access_token": token,
                "expires_in": 7200,
                "refresh_token": secrets.token_hex(24),
                "openid": grant["openid"],
                "scope": grant["scope"],
            }
            if grant["unionid"]:
                body["unionid"] = grant["unionid"]
            return body
        if path == "/sns/userinfo":
            grant = self.user_tokens.get(q.get("access_token", ""))
            if grant is None or grant["openid"] != q.get("openid"):
                return {"errcode": 40001, "errmsg": "invalid credential"}
            if grant["scope"] != "snsapi_userinfo":
                return {"errcode": 48001, "errmsg": "api unauthorized"}
            return {
                "openid": grant["openid"],
                "nickname": grant["nickname"],
                "sex": 0,
                "province": "",
                "city": "",
                "country": "",
                "headimgurl": "",
                "privilege": [],
                **({"unionid": grant["unionid"]} if grant["unionid"] else {}),
            }
        return {"errcode": 40066, "errmsg": "invalid url"}

    def start(self) -> WeChatSimulator:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                body = json.dumps(sim.handle(parsed.path, query), ensure_ascii=False).encode()
                self.send_response(200)  # WeChat answers errors with 200 + errcode
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
