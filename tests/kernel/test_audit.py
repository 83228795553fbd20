import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from hub.kernel.audit import GENESIS_HASH, audit_record, audit_verify_chain
from hub.kernel.models import AuditEvent


def _append(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit_record(
                kind="test.event",
                aggregate_type="test",
                aggregate_id=i,
                payload={"i": i, "名": "值"},
            )


@pytest.mark.django_db
def test_each_entry_carries_the_hash_of_the_previous() -> None:
    _append(3)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    report = audit_verify_chain()
    assert report.intact and report.checked == 3


@pytest.mark.django_db
def test_an_edited_payload_is_detected() -> None:
    _append(3)
    AuditEvent.objects.filter(seq=2).update(payload={"i": 99})
    report = audit_verify_chain()
    assert not report.intact
    assert [(b.seq, b.reason) for b in report.breaks] == [
        (2, "content does not match its hash (edited)")
    ]


@pytest.mark.django_db
def test_a_deleted_entry_is_detected() -> None:
    _append(3)
    AuditEvent.objects.filter(seq=2).delete()
    report = audit_verify_chain()
    assert {b.seq for b in report.breaks} == {3}


@pytest.mark.django_db(transaction=True)
def test_audit_record_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError):
        audit_record(kind="x", aggregate_type="t", aggregate_id=1, payload={})
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_verify_command_fails_on_a_broken_chain(capsys: pytest.CaptureFixture[str]) -> None:
    _append(2)
    call_command("verify_audit_chain")
    assert "audit chain intact: 2 entries" in capsys.readouterr().out
    AuditEvent.objects.filter(seq=1).update(kind="tampered")
    with pytest.raises(CommandError, match="audit chain broken"):
        call_command("verify_audit_chain")
