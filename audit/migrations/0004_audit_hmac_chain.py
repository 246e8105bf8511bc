"""Key the audit chain (issue 13, item 11): rows carry the id of the HMAC key that signed them.

Rows written before this migration keep their plain SHA-256 hashes (history is not rewritten,
and a head an operator noted down still verifies). One keyed row, `audit.chain_keyed`, is
appended after them: its HMAC covers the last plain hash, so from here on the plain rows cannot
be rewritten either, and `verify_audit` refuses plain rows that are not sealed by it. Needs
AUDIT_HMAC_KEY (as every process does). Backward: removes the seal while it is the only keyed
row; refuses once other rows are keyed (the earlier code could not verify them)."""

from django.db import migrations, models
from django.utils import timezone

TRIGGER = "audit_events_append_only"


def seal_plain_rows(apps, schema_editor):
    from audit.services import CHAIN_KEYED_ACTION, ChainHasher, current_key_id

    events = apps.get_model("audit", "AuditEvent").objects.using(schema_editor.connection.alias)
    head = events.order_by("-id").first()
    if head is None or head.key_id:
        return  # nothing to seal: every row from now on is keyed
    count = events.count()
    seal = events.model(
        occurred_at=timezone.now(),
        actor="system",
        action=CHAIN_KEYED_ACTION,
        object_type="audit_chain",
        summary=f"Audit chain keyed with HMAC-SHA256; the {count} plain SHA-256 rows before "
        "this one are sealed by it",
        details={"plain_rows": count, "plain_head": head.hash, "plain_head_id": head.pk},
        prev_hash=head.hash,
        key_id=current_key_id(),
    )
    seal.hash = ChainHasher().hash(seal)
    seal.save(using=schema_editor.connection.alias)


def remove_seal(apps, schema_editor):
    from audit.services import CHAIN_KEYED_ACTION

    events = apps.get_model("audit", "AuditEvent").objects.using(schema_editor.connection.alias)
    keyed = list(events.exclude(key_id="").values_list("id", "action"))
    if not keyed:
        return
    if len(keyed) > 1 or keyed[0][1] != CHAIN_KEYED_ACTION:
        raise RuntimeError(
            f"{len(keyed)} audit rows are signed with AUDIT_HMAC_KEY: the plain SHA-256 chain "
            "of the earlier code cannot verify them. Keep audit migration 0004."
        )
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(f"ALTER TABLE audit_events DISABLE TRIGGER {TRIGGER}")
    schema_editor.execute("DELETE FROM audit_events WHERE id = %s", [keyed[0][0]])
    if postgres:
        schema_editor.execute(f"ALTER TABLE audit_events ENABLE TRIGGER {TRIGGER}")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_tenant_time_id_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.RunPython(seal_plain_rows, remove_seal),
    ]
