"""Shard the audit log into independent chains, sealed as each transaction commits.

The single chain becomes chain 0: its entries keep their seq, prev_hash and hash (they
have no ``content_hash`` and verify with the pre-sharding formula), and its head row
(pk=1) becomes the head of chain 0, so the existing chain still verifies. The heads of the
other configured chains are created empty. New entries go to the chain of their
aggregate (``hub.kernel.audit.audit_chain_for``).

On PostgreSQL a deferred constraint trigger seals a transaction's entries at its commit:
it locks the heads of the chains it wrote to in chain order, numbers and links the
entries, and moves the heads. So heads are locked after every domain row and only for
the commit, and two transactions writing to the same chains never deadlock.
"""

from typing import Any

from django.conf import settings
from django.core.management.color import no_style
from django.db import migrations, models

NOTE_FUNCTION = """
CREATE OR REPLACE FUNCTION kernel_audit_note_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The transaction's unsealed entries, in a transaction-local setting: the seal finds
    -- them by primary key (a savepoint rolled back takes its additions with it).
    PERFORM set_config(
        'livehub.audit_unsealed',
        coalesce(current_setting('livehub.audit_unsealed', true), '') || NEW.id::text || ',',
        true
    );
    RETURN NULL;
END;
$$;
"""
NOTE_TRIGGER = """
CREATE TRIGGER kernel_audit_note_unsealed AFTER INSERT ON kernel_auditevent
    FOR EACH ROW WHEN (NEW.seq IS NULL) EXECUTE FUNCTION kernel_audit_note_unsealed();
"""
SEAL_FUNCTION = """
CREATE OR REPLACE FUNCTION kernel_audit_seal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unsealed BIGINT[];
    entry RECORD;
    head_seq BIGINT;
    head_hash VARCHAR(64);
    entry_hash VARCHAR(64);
BEGIN
    -- The first entry's trigger seals all of the transaction's entries; the others find
    -- the list empty.
    unsealed := string_to_array(
        rtrim(coalesce(current_setting('livehub.audit_unsealed', true), ''), ','), ','
    )::BIGINT[];
    IF unsealed IS NULL OR cardinality(unsealed) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('livehub.audit_unsealed', '', true);
    INSERT INTO kernel_auditchainhead (chain, last_seq, last_hash)
        SELECT DISTINCT e.chain, 0, repeat('0', 64) FROM kernel_auditevent e
        WHERE e.id = ANY(unsealed) AND e.seq IS NULL
            AND NOT EXISTS (SELECT 1 FROM kernel_auditchainhead h WHERE h.chain = e.chain)
        ORDER BY e.chain
        ON CONFLICT (chain) DO NOTHING;
    -- Heads in chain order: two committing transactions never wait on each other in a
    -- cycle.
    PERFORM 1 FROM kernel_auditchainhead
        WHERE chain IN (
            SELECT chain FROM kernel_auditevent WHERE id = ANY(unsealed) AND seq IS NULL
        )
        ORDER BY chain FOR UPDATE;
    FOR entry IN
        SELECT id, chain, content_hash FROM kernel_auditevent
        WHERE id = ANY(unsealed) AND seq IS NULL ORDER BY chain, id
    LOOP
        SELECT last_seq, last_hash INTO head_seq, head_hash
            FROM kernel_auditchainhead WHERE chain = entry.chain;
        entry_hash := encode(sha256(convert_to(
            entry.chain::text || ':' || (head_seq + 1)::text || ':' || head_hash || ':'
            || entry.content_hash, 'UTF8')), 'hex');
        UPDATE kernel_auditevent
            SET seq = head_seq + 1, prev_hash = head_hash, hash = entry_hash
            WHERE id = entry.id;
        UPDATE kernel_auditchainhead SET last_seq = head_seq + 1, last_hash = entry_hash
            WHERE chain = entry.chain;
    END LOOP;
    RETURN NULL;
END;
$$;
"""
SEAL_TRIGGER = """
CREATE CONSTRAINT TRIGGER kernel_audit_seal AFTER INSERT ON kernel_auditevent
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.seq IS NULL)
    EXECUTE FUNCTION kernel_audit_seal();
"""
DROP_SEAL = """
DROP TRIGGER IF EXISTS kernel_audit_seal ON kernel_auditevent;
DROP TRIGGER IF EXISTS kernel_audit_note_unsealed ON kernel_auditevent;
DROP FUNCTION IF EXISTS kernel_audit_seal();
DROP FUNCTION IF EXISTS kernel_audit_note_unsealed();
"""


def single_head_becomes_chain_zero(apps: Any, schema_editor: Any) -> None:
    head_model = apps.get_model("kernel", "AuditChainHead")
    heads = list(head_model.objects.order_by("pk"))
    if len(heads) > 1:
        raise RuntimeError(
            f"expected at most one audit chain head before sharding, found {len(heads)}"
        )
    for head in heads:
        head.chain = 0
        head.save(update_fields=["chain"])


def create_chain_heads(apps: Any, schema_editor: Any) -> None:
    """Heads for every configured chain, so no commit pays for creating one."""
    head_model = apps.get_model("kernel", "AuditChainHead")
    # The single head was created with an explicit pk=1, which left PostgreSQL's id
    # sequence at its start: move it past the existing rows first.
    for statement in schema_editor.connection.ops.sequence_reset_sql(no_style(), [head_model]):
        schema_editor.execute(statement)
    chains = min(max(int(getattr(settings, "LIVEHUB_AUDIT_CHAINS", 16)), 1), 1024)
    existing = set(head_model.objects.values_list("chain", flat=True))
    head_model.objects.bulk_create(
        [head_model(chain=chain) for chain in range(chains) if chain not in existing]
    )


def refuse_merging_chains(apps: Any, schema_editor: Any) -> None:
    event_model = apps.get_model("kernel", "AuditEvent")
    head_model = apps.get_model("kernel", "AuditChainHead")
    if (
        event_model.objects.exclude(chain=0).exists()
        or event_model.objects.exclude(content_hash="").exists()
    ):
        raise RuntimeError("entries written after sharding exist: cannot go back to one chain")
    head_model.objects.exclude(chain=0).delete()


def install_seal_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NOTE_FUNCTION)
        schema_editor.execute(NOTE_TRIGGER)
        schema_editor.execute(SEAL_FUNCTION)
        schema_editor.execute(SEAL_TRIGGER)


def drop_seal_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SEAL)


class Migration(migrations.Migration):
    dependencies = [
        ("kernel", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="content_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("chain", "seq"), name="audit_chain_seq_unique"
            ),
        ),
        migrations.AlterModelOptions(
            name="auditevent",
            options={"ordering": ["id"]},
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="chain",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.RunPython(single_head_becomes_chain_zero, refuse_merging_chains),
        migrations.AlterField(
            model_name="auditchainhead",
            name="chain",
            field=models.PositiveSmallIntegerField(unique=True),
        ),
        migrations.RunPython(create_chain_heads, migrations.RunPython.noop),
        migrations.RunPython(install_seal_trigger, drop_seal_trigger),
    ]
