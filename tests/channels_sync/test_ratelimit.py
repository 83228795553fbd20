"""The client-side rate gate (Redis Lua bucket with REDIS_URL, process-local without)."""

from __future__ import annotations

import threading
import time
import uuid

from channels_sync.ratelimit import rate_gate_wait


def test_rate_gate_paces_calls_across_threads() -> None:
    key = f"test-{uuid.uuid4().hex}"
    stamps: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        for _ in range(3):
            rate_gate_wait(key=key, rate_per_s=20, burst=1)
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(3)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 9 calls at 20/s with a burst of 1: the last may not start before 8 intervals.
    assert len(stamps) == 9
    assert max(stamps) - started >= 8 / 20 - 0.02


def test_rate_gate_is_per_key() -> None:
    started = time.monotonic()
    for n in range(5):
        rate_gate_wait(key=f"solo-{uuid.uuid4().hex}-{n}", rate_per_s=1, burst=1)
    assert time.monotonic() - started < 0.5
