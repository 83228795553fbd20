"""Publisher slot under real concurrency: many simultaneous opens, exactly one wins."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from live.video.errors import PublisherBusy
from live.video.models import PublisherSession, Stream
from live.video.services.sessions import publisher_session_open
from live.video.states import SessionStatus


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_get_exactly_one_slot(stream: Stream) -> None:
    barrier = threading.Barrier(6)
    outcomes: list[str] = []
    lock = threading.Lock()

    def publish() -> None:
        barrier.wait()
        try:
            publisher_session_open(show_code=stream.show.code, stream_key=stream.key)
            result = "opened"
        except PublisherBusy:
            result = "busy"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=publish) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["busy"] * 5 + ["opened"]
    assert list(PublisherSession.objects.values_list("status", flat=True)) == [
        SessionStatus.CONNECTING
    ]
