"""Only the indexes the audit queries use (issue 26).

Dropped: the unique index on `hash` and Django's `varchar_pattern_ops` (`_like`) copies of `hash`
and `prev_hash`: nothing looks a row up by hash or by a hash prefix; at 10 M rows they were 76 %
of the table's index space and never scanned. Kept: the unique index on `prev_hash`, which refuses
a fork of the chain (two rows claiming one predecessor). The action index becomes
(action, occurred_at, id): the action filter's newest-first keyset page is read off it.

PostgreSQL: CREATE / DROP INDEX CONCURRENTLY (hence a non-atomic migration): writers are not
blocked while a large table's index builds. Dropping the unique constraint takes a brief lock.
SQLite: the plain schema operations."""

from django.db import migrations, models

TABLE = "audit_events"
ACTION_OLD = ("audit_action_idx", "(action)")
ACTION_NEW = ("audit_action_time_id_idx", "(action, occurred_at, id)")


def _like_index(schema_editor, column: str) -> str:
    return schema_editor._create_index_name(TABLE, [column], suffix="_like")


def _unique_constraint(schema_editor, column: str) -> str | None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    for name, info in constraints.items():
        if info["unique"] and not info["primary_key"] and info["columns"] == [column]:
            return name
    return None


def _state_model(apps, name="AuditEvent"):
    return apps.get_model("audit", name)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return _plain(apps, schema_editor, forwards=True)
    execute = schema_editor.execute
    unique = _unique_constraint(schema_editor, "hash")
    if unique:
        execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{unique}"')
    for column in ("hash", "prev_hash"):
        execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{_like_index(schema_editor, column)}"')
    execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ACTION_NEW[0]} ON {TABLE} {ACTION_NEW[1]}")
    execute(f"DROP INDEX CONCURRENTLY IF EXISTS {ACTION_OLD[0]}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return _plain(apps, schema_editor, forwards=False)
    execute = schema_editor.execute
    execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ACTION_OLD[0]} ON {TABLE} {ACTION_OLD[1]}")
    execute(f"DROP INDEX CONCURRENTLY IF EXISTS {ACTION_NEW[0]}")
    for column in ("hash", "prev_hash"):
        execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{_like_index(schema_editor, column)}" '
            f"ON {TABLE} ({column} varchar_pattern_ops)"
        )
    if not _unique_constraint(schema_editor, "hash"):
        execute(f"CREATE UNIQUE INDEX CONCURRENTLY audit_events_hash_key ON {TABLE} (hash)")
        execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT audit_events_hash_key "
            "UNIQUE USING INDEX audit_events_hash_key"
        )


def _plain(apps, schema_editor, *, forwards: bool):
    """SQLite: the table is rebuilt with `hash` changed. Both directions get the earlier state's
    model (RunPython inside SeparateDatabaseAndState), whose Meta names the old action index."""
    model = _state_model(apps)
    unique_hash = model._meta.get_field("hash")
    plain_hash = models.CharField(max_length=64)
    plain_hash.set_attributes_from_name("hash")
    plain_hash.model = model
    if forwards:
        schema_editor.alter_field(model, unique_hash, plain_hash)
        schema_editor.execute(f"CREATE INDEX {ACTION_NEW[0]} ON {TABLE} {ACTION_NEW[1]}")
        schema_editor.execute(f"DROP INDEX IF EXISTS {ACTION_OLD[0]}")
    else:
        # The rebuild recreates the indexes the earlier state names (the old action index).
        schema_editor.execute(f"DROP INDEX IF EXISTS {ACTION_NEW[0]}")
        schema_editor.alter_field(model, plain_hash, unique_hash)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audit", "0005_checkpoints"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="hash",
                    field=models.CharField(max_length=64),
                ),
                migrations.RemoveIndex(model_name="auditevent", name=ACTION_OLD[0]),
                migrations.AddIndex(
                    model_name="auditevent",
                    index=models.Index(fields=["action", "occurred_at", "id"], name=ACTION_NEW[0]),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
