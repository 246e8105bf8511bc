"""On PostgreSQL, refuse UPDATE and DELETE of audit rows, also from raw SQL.

TRUNCATE stays possible: Django's test runner empties tables with it between transactional
tests. In production the application's database role should not hold the TRUNCATE privilege on
audit_events (nor ownership of it, which would allow disabling this trigger)."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused (id %)', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""

TRIGGER = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();"
)

DROP = [
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events;",
    "DROP FUNCTION IF EXISTS audit_events_refuse_change();",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # None: the % in RAISE is not a placeholder
    schema_editor.execute(TRIGGER)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
