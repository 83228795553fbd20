import time

import pytest
from django.db import transaction

from hub.celery import app as celery_app
from hub.kernel import outbox
from hub.kernel.models import OutboxMessage


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    seen: list[dict] = []
    monkeypatch.setitem(outbox._handlers, "test.topic", [seen.append])
    return seen


@pytest.mark.django_db
def test_relay_delivers_in_order_and_marks_dispatched(received) -> None:
    for n in range(3):
        outbox.outbox_publish(topic="test.topic", payload={"n": n})
    assert outbox.outbox_relay() == 3
    assert received == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    assert outbox.outbox_relay() == 0
    assert len(received) == 3


@pytest.mark.django_db
def test_a_failing_handler_keeps_its_message_for_retry(
    monkeypatch: pytest.MonkeyPatch, received
) -> None:
    def explode(payload: dict) -> None:
        raise RuntimeError("marketplace down")

    monkeypatch.setitem(outbox._handlers, "bad.topic", [explode])
    outbox.outbox_publish(topic="bad.topic", payload={})
    outbox.outbox_publish(topic="test.topic", payload={"ok": True})
    assert outbox.outbox_relay() == 1
    failed = OutboxMessage.objects.get(topic="bad.topic")
    assert failed.dispatched_at is None
    assert failed.attempts == 1
    assert "marketplace down" in failed.last_error
    assert received == [{"ok": True}]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_publishes_nothing() -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox.outbox_publish(topic="test.topic", payload={})
        1 / 0  # noqa: B018
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_after_commit_without_eager_mode(
    received, monkeypatch: pytest.MonkeyPatch
) -> None:
    from celery.contrib.testing.worker import start_worker

    monkeypatch.setattr(outbox, "_last_relay_scheduled", 0.0)
    assert not celery_app.conf.task_always_eager
    celery_app.loader.import_module("celery.contrib.testing.tasks")
    with start_worker(celery_app, perform_ping_check=False, pool="threads", concurrency=1):
        with transaction.atomic():
            outbox.outbox_publish(topic="test.topic", payload={"via": "worker"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not received:
            time.sleep(0.1)
    assert received == [{"via": "worker"}]
    assert OutboxMessage.objects.get().dispatched_at is not None


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[list[dict]]:
    seen: list[list[dict]] = []
    monkeypatch.setitem(outbox._batch_handlers, "batch.topic", [seen.append])
    return seen


@pytest.mark.django_db
def test_a_batch_handler_gets_every_pending_payload_of_its_topic_in_one_call(
    batches, received
) -> None:
    for n in range(3):
        outbox.outbox_publish(topic="batch.topic", payload={"n": n})
    outbox.outbox_publish(topic="test.topic", payload={"other": True})
    assert outbox.outbox_relay() == 4
    assert batches == [[{"n": 0}, {"n": 1}, {"n": 2}]]
    assert received == [{"other": True}]
    assert outbox.outbox_relay() == 0
    assert len(batches) == 1


@pytest.mark.django_db
def test_the_relay_commits_round_by_round(batches) -> None:
    for n in range(5):
        outbox.outbox_publish(topic="batch.topic", payload={"n": n})
    assert outbox.outbox_relay(chunk=2) == 5
    assert [len(b) for b in batches] == [2, 2, 1]
    assert outbox.outbox_relay(limit=3, chunk=2) == 0


@pytest.mark.django_db
def test_a_failing_batch_handler_keeps_all_its_messages_pending(
    monkeypatch: pytest.MonkeyPatch, received
) -> None:
    def explode(payloads: list[dict]) -> None:
        raise RuntimeError("down")

    monkeypatch.setitem(outbox._batch_handlers, "batch.topic", [explode])
    outbox.outbox_publish(topic="batch.topic", payload={"n": 1})
    outbox.outbox_publish(topic="batch.topic", payload={"n": 2})
    outbox.outbox_publish(topic="test.topic", payload={"ok": True})
    assert outbox.outbox_relay() == 1
    failed = OutboxMessage.objects.filter(topic="batch.topic")
    assert [(m.dispatched_at, m.attempts) for m in failed] == [(None, 1), (None, 1)]
    assert received == [{"ok": True}]


@pytest.mark.django_db
def test_a_database_error_in_a_handler_undoes_only_its_own_writes(
    monkeypatch: pytest.MonkeyPatch, received
) -> None:
    def broken_write(payload: dict) -> None:
        OutboxMessage.objects.create(topic="side.effect", payload={})
        OutboxMessage.objects.create(topic=None, payload={})  # NOT NULL: IntegrityError

    monkeypatch.setitem(outbox._handlers, "bad.topic", [broken_write])
    outbox.outbox_publish(topic="bad.topic", payload={})
    outbox.outbox_publish(topic="test.topic", payload={"after": True})
    assert outbox.outbox_relay() == 1
    assert received == [{"after": True}]
    assert not OutboxMessage.objects.filter(topic="side.effect").exists()
    assert OutboxMessage.objects.get(topic="bad.topic").attempts == 1


@pytest.mark.django_db
def test_messages_that_failed_before_do_not_hold_up_fresh_ones(
    monkeypatch: pytest.MonkeyPatch, received
) -> None:
    def explode(payload: dict) -> None:
        raise RuntimeError("poison")

    monkeypatch.setitem(outbox._handlers, "bad.topic", [explode])
    for _ in range(3):
        outbox.outbox_publish(topic="bad.topic", payload={})
    assert outbox.outbox_relay(chunk=3) == 0
    outbox.outbox_publish(topic="test.topic", payload={"fresh": True})
    assert outbox.outbox_relay(chunk=1) == 1  # the fresh one first, not a poisoned one
    assert received == [{"fresh": True}]
