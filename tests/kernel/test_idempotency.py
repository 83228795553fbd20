import pytest

from hub.kernel.errors import DomainError, IdempotencyKeyReused
from hub.kernel.idempotency import idempotent_call, request_fingerprint
from hub.kernel.models import IdempotencyRecord, OutboxMessage


def _work_counter() -> tuple[list[int], object]:
    calls: list[int] = []

    def work() -> tuple[int, dict[str, object]]:
        calls.append(1)
        OutboxMessage.objects.create(topic="test", payload={"n": len(calls)})
        return 201, {"n": len(calls)}

    return calls, work


@pytest.mark.django_db
def test_a_retry_replays_the_first_result_and_does_not_run_again() -> None:
    calls, work = _work_counter()
    fp = request_fingerprint({"a": 1})
    first = idempotent_call(scope="s", key="k1", fingerprint=fp, work=work)  # type: ignore[arg-type]
    second = idempotent_call(scope="s", key="k1", fingerprint=fp, work=work)  # type: ignore[arg-type]
    assert (first.status_code, first.body, first.replayed) == (201, {"n": 1}, False)
    assert (second.status_code, second.body, second.replayed) == (201, {"n": 1}, True)
    assert len(calls) == 1
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused() -> None:
    _calls, work = _work_counter()
    idempotent_call(scope="s", key="k1", fingerprint=request_fingerprint({"a": 1}), work=work)  # type: ignore[arg-type]
    with pytest.raises(IdempotencyKeyReused):
        idempotent_call(scope="s", key="k1", fingerprint=request_fingerprint({"a": 2}), work=work)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_a_domain_error_is_stored_and_its_writes_rolled_back() -> None:
    def failing() -> tuple[int, dict[str, object]]:
        OutboxMessage.objects.create(topic="test", payload={})
        raise DomainError("nope")

    result = idempotent_call(scope="s", key="k2", fingerprint="f", work=failing)
    replay = idempotent_call(scope="s", key="k2", fingerprint="f", work=failing)
    assert result.status_code == 400
    assert result.body == {"error": {"code": "domain_error", "message": "nope", "details": {}}}
    assert replay.replayed and replay.body == result.body
    assert OutboxMessage.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_scoped() -> None:
    calls, work = _work_counter()
    idempotent_call(scope="user1", key="k", fingerprint="f", work=work)  # type: ignore[arg-type]
    idempotent_call(scope="user2", key="k", fingerprint="f", work=work)  # type: ignore[arg-type]
    assert len(calls) == 2
