"""The sharded, hash-chained audit log: ordering, tamper detection, concurrency, migration."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from pytest_django.fixtures import Settings as SettingsWrapper

from hub.kernel.audit import (
    GENESIS_HASH,
    audit_chain_for,
    audit_record,
    audit_seal_pending,
    audit_verify_chain,
)
from hub.kernel.models import AuditChainHead, AuditEvent

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one writing transaction at a time"
)


def _append(aggregate_id: str | int, n: int = 1, aggregate_type: str = "test") -> None:
    for i in range(n):
        with transaction.atomic():
            audit_record(
                kind="test.event",
                aggregate_type=aggregate_type,
                aggregate_id=aggregate_id,
                payload={"i": i, "名": "值"},
            )
    audit_seal_pending()  # PostgreSQL seals at commit; a test's transaction never commits


def _ids_on_chain(chain: int, how_many: int, chains: int = 4) -> list[str]:
    """Aggregate ids of type ``test`` that hash to ``chain``."""
    found = [f"a{i}" for i in range(1000) if audit_chain_for("test", f"a{i}", chains) == chain]
    return found[:how_many]


@pytest.fixture
def four_chains(settings: SettingsWrapper) -> None:
    settings.LIVEHUB_AUDIT_CHAINS = 4


# ---- chain assignment -------------------------------------------------------------------


def test_an_aggregate_always_maps_to_the_same_chain() -> None:
    assert audit_chain_for("order", "LH-1", 16) == 9
    assert audit_chain_for("order", "LH-2", 16) == 5
    assert audit_chain_for("stock", "1@1", 16) == 9
    assert audit_chain_for("test", 7, 4) == audit_chain_for("test", "7", 4) == 0
    assert audit_chain_for("order", "LH-1", 1) == 0


def test_aggregates_spread_over_every_chain() -> None:
    spread = Counter(audit_chain_for("order", f"LH-{i}", 16) for i in range(1600))
    assert sorted(spread) == list(range(16))
    assert min(spread.values()) > 60


@pytest.mark.parametrize("chains", [0, -1, 1025, "16"])
def test_a_bad_chain_count_is_refused(settings: SettingsWrapper, chains: object) -> None:
    settings.LIVEHUB_AUDIT_CHAINS = chains
    with pytest.raises(ImproperlyConfigured, match="LIVEHUB_AUDIT_CHAINS"):
        audit_chain_for("order", "LH-1")


# ---- appending ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_aggregates_history_is_one_ordered_chain(four_chains: None) -> None:
    first, second = _ids_on_chain(1, 2)
    (other,) = _ids_on_chain(3, 1)
    for aggregate_id in [first, other, second, first, other, first]:
        _append(aggregate_id)
    chain_one = list(AuditEvent.objects.filter(chain=1).order_by("seq"))
    assert [(e.seq, e.aggregate_id) for e in chain_one] == [
        (1, first),
        (2, second),
        (3, first),
        (4, first),
    ]
    assert chain_one[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in chain_one[1:]] == [e.hash for e in chain_one[:-1]]
    chain_three = list(AuditEvent.objects.filter(chain=3).order_by("seq"))
    assert [(e.seq, e.aggregate_id) for e in chain_three] == [(1, other), (2, other)]
    assert chain_three[0].prev_hash == GENESIS_HASH
    heads = {h.chain: (h.last_seq, h.last_hash) for h in AuditChainHead.objects.exclude(last_seq=0)}
    assert heads == {1: (4, chain_one[-1].hash), 3: (2, chain_three[-1].hash)}
    report = audit_verify_chain()
    assert (report.intact, report.checked, report.chains) == (True, 6, 2)


@pytest.mark.django_db
def test_one_chain_keeps_everything_in_chain_zero(settings: SettingsWrapper) -> None:
    settings.LIVEHUB_AUDIT_CHAINS = 1
    for aggregate_id in range(3):
        _append(aggregate_id)
    assert list(AuditEvent.objects.values_list("chain", "seq")) == [(0, 1), (0, 2), (0, 3)]
    assert audit_verify_chain().intact


@pytest.mark.django_db(transaction=True)
def test_audit_record_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError):
        audit_record(kind="x", aggregate_type="t", aggregate_id=1, payload={})
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_append_leaves_its_chain_as_it_was(four_chains: None) -> None:
    (aggregate_id,) = _ids_on_chain(2, 1)
    _append(aggregate_id)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_record(kind="x", aggregate_type="test", aggregate_id=aggregate_id, payload={})
        _ = 1 / 0
    _append(aggregate_id)
    assert list(AuditEvent.objects.values_list("chain", "seq")) == [(2, 1), (2, 2)]
    assert audit_verify_chain().intact


@pytest.mark.django_db(transaction=True)
def test_an_entry_rolled_back_with_its_savepoint_takes_no_place_in_the_chain(
    four_chains: None,
) -> None:
    first, second = _ids_on_chain(2, 2)
    with transaction.atomic():
        audit_record(kind="kept", aggregate_type="test", aggregate_id=first, payload={})
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            audit_record(kind="undone", aggregate_type="test", aggregate_id=second, payload={})
            _ = 1 / 0
        audit_record(kind="kept", aggregate_type="test", aggregate_id=second, payload={})
    entries = AuditEvent.objects.order_by("seq").values_list("kind", "aggregate_id", "seq")
    assert list(entries) == [("kept", first, 1), ("kept", second, 2)]
    assert audit_verify_chain().intact


# ---- tampering ------------------------------------------------------------------------------


@pytest.fixture
def two_chains_of_three(four_chains: None) -> tuple[str, str]:
    """Three entries on chain 1 and three on chain 2."""
    (on_one,) = _ids_on_chain(1, 1)
    (on_two,) = _ids_on_chain(2, 1)
    _append(on_one, 3)
    _append(on_two, 3)
    return on_one, on_two


@pytest.mark.django_db
def test_an_edited_payload_is_reported_with_its_chain(two_chains_of_three: tuple[str, str]) -> None:
    AuditEvent.objects.filter(chain=2, seq=2).update(payload={"i": 99})
    report = audit_verify_chain()
    assert [(b.chain, b.seq, b.reason) for b in report.breaks] == [
        (2, 2, "content does not match its hash (edited)")
    ]
    assert (report.checked, report.chains) == (6, 2)


@pytest.mark.django_db
def test_a_deleted_entry_is_reported_with_its_chain(two_chains_of_three: tuple[str, str]) -> None:
    AuditEvent.objects.filter(chain=1, seq=2).delete()
    report = audit_verify_chain()
    assert [(b.chain, b.seq, b.reason) for b in report.breaks] == [
        (1, 3, "expected seq 2 (entry missing)"),
        (1, 3, "prev_hash does not match the previous entry"),
    ]


@pytest.mark.django_db
def test_a_deleted_last_entry_leaves_the_head_pointing_past_it(
    two_chains_of_three: tuple[str, str],
) -> None:
    AuditEvent.objects.filter(chain=2, seq=3).delete()
    report = audit_verify_chain()
    assert [(b.chain, b.seq, b.reason) for b in report.breaks] == [
        (2, 3, "chain head points past the last entry")
    ]


@pytest.mark.django_db
def test_a_chain_emptied_entirely_is_still_detected(two_chains_of_three: tuple[str, str]) -> None:
    AuditEvent.objects.filter(chain=1).delete()
    report = audit_verify_chain()
    assert [(b.chain, b.seq, b.reason) for b in report.breaks] == [
        (1, 3, "chain head points past the last entry")
    ]


@pytest.mark.django_db
def test_an_entry_moved_to_another_chain_is_detected(two_chains_of_three: tuple[str, str]) -> None:
    AuditEvent.objects.filter(chain=1, seq=3).update(chain=2, seq=4)
    report = audit_verify_chain()
    assert [(b.chain, b.seq, b.reason) for b in report.breaks] == [
        (1, 3, "chain head points past the last entry"),
        (2, 4, "prev_hash does not match the previous entry"),
        (2, 4, "content does not match its hash (edited)"),
        (2, 4, "entry beyond the chain head"),
    ]


@pytest.mark.django_db
def test_a_rewound_or_missing_head_is_detected(two_chains_of_three: tuple[str, str]) -> None:
    AuditChainHead.objects.filter(chain=1).update(last_hash="f" * 64)
    AuditChainHead.objects.filter(chain=2).delete()
    report = audit_verify_chain()
    assert [(b.chain, b.seq, b.reason) for b in report.breaks] == [
        (1, 3, "chain head hash does not match the last entry"),
        (2, 3, "chain has no head"),
    ]


@pytest.mark.django_db
def test_verify_command_names_the_broken_chain(
    two_chains_of_three: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("verify_audit_chain")
    assert "audit chain intact: 6 entries in 2 chain(s)" in capsys.readouterr().out
    AuditEvent.objects.filter(chain=2, seq=1).update(kind="tampered")
    with pytest.raises(CommandError, match=r"audit chain broken: 1 problem\(s\) in 6 entries"):
        call_command("verify_audit_chain")
    assert capsys.readouterr().err == (
        "chain 2 entry 1: content does not match its hash (edited)\n"
    )


# ---- concurrency ----------------------------------------------------------------------------

THREADS = 8
APPENDS_PER_THREAD = 30


def _append_from_thread(thread: int, errors: list[BaseException]) -> None:
    """One worker: its own aggregates, plus one aggregate every worker writes to."""
    try:
        for n in range(APPENDS_PER_THREAD):
            with transaction.atomic():
                audit_record(
                    kind="test.event",
                    aggregate_type="test",
                    aggregate_id=f"t{thread}-{n % 5}",
                    payload={"thread": thread, "n": n},
                )
                if n % 3 == 0:
                    audit_record(
                        kind="test.shared",
                        aggregate_type="test",
                        aggregate_id="shared",
                        payload={"thread": thread, "n": n},
                    )
    except BaseException as error:  # reported by the test
        errors.append(error)
    finally:
        connection.close()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_threads_appending_at_once_leave_every_chain_intact() -> None:
    errors: list[BaseException] = []
    workers = [
        threading.Thread(target=_append_from_thread, args=(t, errors)) for t in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    shared_per_thread = len(range(0, APPENDS_PER_THREAD, 3))
    total = THREADS * (APPENDS_PER_THREAD + shared_per_thread)
    assert AuditEvent.objects.count() == total
    report = audit_verify_chain()
    assert (report.intact, report.checked) == (True, total)
    assert report.chains == len(set(AuditEvent.objects.values_list("chain", flat=True))) > 4
    # Every chain is numbered 1..n without gaps; each aggregate sits on its own chain in
    # the order its writer committed.
    for head in AuditChainHead.objects.all():
        chain = AuditEvent.objects.filter(chain=head.chain).order_by("seq")
        seqs = list(chain.values_list("seq", flat=True))
        assert seqs == list(range(1, head.last_seq + 1))
    for thread in range(THREADS):
        for k in range(5):
            entries = AuditEvent.objects.filter(aggregate_id=f"t{thread}-{k}").order_by("seq")
            assert {e.chain for e in entries} == {audit_chain_for("test", f"t{thread}-{k}")}
            assert [e.payload["n"] for e in entries] == list(range(k, APPENDS_PER_THREAD, 5))
    shared = AuditEvent.objects.filter(aggregate_id="shared").order_by("seq")
    per_writer: dict[int, list[int]] = {}
    for entry in shared:
        per_writer.setdefault(entry.payload["thread"], []).append(entry.payload["n"])
    assert per_writer == {t: list(range(0, APPENDS_PER_THREAD, 3)) for t in range(THREADS)}


def _append_twice_meeting_halfway(
    first: str, second: str, mine: threading.Event, other: threading.Event, errors: list[Any]
) -> None:
    """In one transaction: append for ``first``, wait until the other writer has made its
    first append too, then append for ``second`` and commit."""
    try:
        with transaction.atomic():
            audit_record(kind="test.step", aggregate_type="test", aggregate_id=first, payload={})
            mine.set()
            assert other.wait(timeout=10)
            audit_record(kind="test.step", aggregate_type="test", aggregate_id=second, payload={})
    except BaseException as error:  # reported by the test
        errors.append(error)
    finally:
        connection.close()


@on_postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_an_open_transaction_holds_no_chain_and_its_entry_takes_its_place_at_commit(
    four_chains: None,
) -> None:
    first, second = _ids_on_chain(1, 2)
    appended, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def open_writer() -> None:
        try:
            with transaction.atomic():
                audit_record(
                    kind="test.open", aggregate_type="test", aggregate_id=first, payload={}
                )
                appended.set()
                assert release.wait(timeout=10)
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=open_writer)
    worker.start()
    assert appended.wait(timeout=10)
    _append(second)  # same chain, commits while the other transaction is still open
    assert list(AuditEvent.objects.values_list("aggregate_id", "seq")) == [(second, 1)]
    release.set()
    worker.join(timeout=10)
    assert errors == []
    assert list(AuditEvent.objects.order_by("seq").values_list("aggregate_id", "chain", "seq")) == [
        (second, 1, 1),
        (first, 1, 2),
    ]
    assert audit_verify_chain().intact


@on_postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_transactions_writing_two_chains_in_opposite_orders_do_not_deadlock(
    four_chains: None,
) -> None:
    (on_one,) = _ids_on_chain(1, 1)
    (on_three,) = _ids_on_chain(3, 1)
    # A appends to chain 1, B to chain 3, then each to the other's chain, both still open:
    # with heads locked at append time this is a deadlock.
    a_halfway, b_halfway = threading.Event(), threading.Event()
    errors: list[Any] = []
    writers = [
        threading.Thread(
            target=_append_twice_meeting_halfway,
            args=(on_one, on_three, a_halfway, b_halfway, errors),
        ),
        threading.Thread(
            target=_append_twice_meeting_halfway,
            args=(on_three, on_one, b_halfway, a_halfway, errors),
        ),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=30)
    assert errors == []
    assert AuditEvent.objects.filter(chain=1).count() == 2
    assert AuditEvent.objects.filter(chain=3).count() == 2
    report = audit_verify_chain()
    assert (report.intact, report.checked, report.chains) == (True, 4, 2)


# ---- migration from the single chain -------------------------------------------------------


def _pre_sharding_hash(fields: dict[str, object]) -> str:
    """How entries were hashed before the log was sharded (no ``chain`` in the body)."""
    created_at = fields["created_at"]
    assert isinstance(created_at, datetime)
    body = {**fields, "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_the_single_chain_migrates_to_chain_zero_and_still_verifies(four_chains: None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("kernel", "0001_initial")])
    try:
        old_apps = executor.loader.project_state([("kernel", "0001_initial")]).apps
        old_event = old_apps.get_model("kernel", "AuditEvent")
        old_head = old_apps.get_model("kernel", "AuditChainHead")
        old_event.objects.all().delete()
        old_head.objects.all().delete()
        prev = GENESIS_HASH
        for seq, aggregate in enumerate(["a1", "a2", "a3"], start=1):
            fields: dict[str, object] = {
                "seq": seq,
                "prev_hash": prev,
                "kind": "legacy.event",
                "aggregate_type": "test",
                "aggregate_id": aggregate,
                "actor_id": None,
                "payload": {"seq": seq},
                "created_at": datetime(2026, 11, 1, 12, seq, tzinfo=UTC),
            }
            prev = _pre_sharding_hash(fields)
            old_event.objects.create(hash=prev, **fields)
        old_head.objects.create(pk=1, last_seq=3, last_hash=prev)  # as get_or_create(pk=1) did
        if connection.vendor == "postgresql":  # a database where the id sequence never moved
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('kernel_auditchainhead', 'id'), 1, false)"
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert list(AuditEvent.objects.values_list("chain", "seq")) == [(0, 1), (0, 2), (0, 3)]
    head = AuditChainHead.objects.get(chain=0)
    assert (head.pk, head.chain, head.last_seq, head.last_hash) == (1, 0, 3, prev)
    assert list(AuditChainHead.objects.order_by("chain").values_list("chain", "last_seq")) == [
        (0, 3),
        (1, 0),
        (2, 0),
        (3, 0),
    ]
    report = audit_verify_chain()
    assert (report.intact, report.checked, report.chains) == (True, 3, 1)

    (on_zero,) = _ids_on_chain(0, 1)
    (on_two,) = _ids_on_chain(2, 1)
    _append(on_zero)
    _append(on_two)
    continued = AuditEvent.objects.get(chain=0, seq=4)
    assert continued.prev_hash == prev
    assert AuditEvent.objects.get(chain=2).seq == 1
    report = audit_verify_chain()
    assert (report.intact, report.checked, report.chains) == (True, 5, 2)
    AuditEvent.objects.filter(chain=0, seq=2).update(payload={"seq": 20})
    assert [(b.chain, b.seq) for b in audit_verify_chain().breaks] == [(0, 2)]
