"""On PostgreSQL, refuse any UPDATE of an immutable pack column, also from raw SQL."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION packs_refuse_immutable_update() RETURNS trigger AS $$
BEGIN
    IF NEW.content_json IS DISTINCT FROM OLD.content_json
       OR NEW.checksum IS DISTINCT FROM OLD.checksum
       OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.version_key IS DISTINCT FROM OLD.version_key
       OR NEW.domain IS DISTINCT FROM OLD.domain
       OR NEW.size_bytes IS DISTINCT FROM OLD.size_bytes
       OR (TG_TABLE_NAME = 'tenant_packs'
           AND to_jsonb(NEW)->'tenant_id' IS DISTINCT FROM to_jsonb(OLD)->'tenant_id') THEN
        RAISE EXCEPTION 'pack versions are immutable: only status may change (table %, id %)',
            TG_TABLE_NAME, OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGERS = [
    "CREATE TRIGGER domain_packs_immutable BEFORE UPDATE ON domain_packs "
    "FOR EACH ROW EXECUTE FUNCTION packs_refuse_immutable_update();",
    "CREATE TRIGGER tenant_packs_immutable BEFORE UPDATE ON tenant_packs "
    "FOR EACH ROW EXECUTE FUNCTION packs_refuse_immutable_update();",
]

DROP = [
    "DROP TRIGGER IF EXISTS domain_packs_immutable ON domain_packs;",
    "DROP TRIGGER IF EXISTS tenant_packs_immutable ON tenant_packs;",
    "DROP FUNCTION IF EXISTS packs_refuse_immutable_update();",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for statement in TRIGGERS:
        schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in DROP:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("packs", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
