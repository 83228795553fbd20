"""A small threaded HTTP server base for the marketplace simulators.

Simulators are test and demo infrastructure: they implement the parts of each
platform's API that LiveHub calls, with the platform's signatures and rate limits, and
record what they received so tests and benchmarks can check the marketplace's view.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class LeakyBucket:
    """Capacity ``size``, drains ``rate`` units a second; ``take`` fails when full."""

    def __init__(self, *, size: float, rate: float) -> None:
        self.size, self.rate = size, rate
        self.level = 0.0
        self.at = time.monotonic()
        self.lock = threading.Lock()

    def take(self, cost: float = 1.0) -> tuple[bool, float]:
        """(allowed, current level); when refused, nothing is added."""
        with self.lock:
            now = time.monotonic()
            self.level = max(0.0, self.level - (now - self.at) * self.rate)
            self.at = now
            if self.level + cost > self.size:
                return False, self.level
            self.level += cost
            return True, self.level

    def fill(self) -> None:
        """Full now (tests: the next call is refused)."""
        with self.lock:
            self.level, self.at = self.size, time.monotonic()

    def drain(self) -> None:
        with self.lock:
            self.level, self.at = 0.0, time.monotonic()

    def wait_for(self, cost: float) -> float:
        with self.lock:
            return max(0.0, (self.level + cost - self.size) / self.rate)


class SimulatorServer:
    """Runs ``handle`` for every request on a background ``ThreadingHTTPServer``."""

    name = "simulator"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lock = threading.RLock()
        self.calls = 0
        self.throttled = 0
        #: while True every API call answers 503 (an outage)
        self.outage = False
        #: (monotonic time, item id, quantity) for every stock write, in order
        self.stock_writes: list[tuple[float, str, int]] = []
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with simulator.lock:
                    simulator.calls += 1
                if simulator.outage:
                    reply = Reply(503, {"errors": "Service Unavailable"})
                else:
                    try:
                        reply = simulator.handle(request)
                    except Exception as exc:  # a simulator bug must show, not hang
                        reply = Reply(500, {"errors": repr(exc)})
                if reply.status == 429:
                    with simulator.lock:
                        simulator.throttled += 1
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SimulatorServer:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def add_item(self, *, sku: str, available: int = 0, item_id: str = "") -> str:
        """List a SKU on the marketplace; returns the id its inventory API uses."""
        raise NotImplementedError

    def record_stock(self, item_id: str, quantity: int) -> None:
        self.stock_writes.append((time.monotonic(), item_id, quantity))
