"""Record on each tenant pack the domain pack version its import validated it against, filled
for existing rows from their `pack.imported` audit rows, and immutable like the rest of a pack
(the PostgreSQL trigger of 0002 learns the column)."""

import json

from django.db import migrations, models

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
           AND (to_jsonb(NEW)->'tenant_id' IS DISTINCT FROM to_jsonb(OLD)->'tenant_id'
                OR to_jsonb(NEW)->'validated_against_version'
                   IS DISTINCT FROM to_jsonb(OLD)->'validated_against_version')) THEN
        RAISE EXCEPTION 'pack versions are immutable: only status may change (table %, id %)',
            TG_TABLE_NAME, OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def backfill(apps, schema_editor):
    # Raw SQL, and no migration dependency on the audit app: tests (and operators) migrate the
    # audit chain back and forth on its own, which must not unapply this migration. A database
    # without the audit table has no pack rows to fill either.
    connection = schema_editor.connection
    if "audit_events" not in connection.introspection.table_names():
        return
    TenantPack = apps.get_model("packs", "TenantPack")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT object_id, details FROM audit_events "
            "WHERE action = 'pack.imported' AND object_type = 'tenant_pack'"
        )
        rows = cursor.fetchall()
    for object_id, details in rows:
        if isinstance(details, str):
            details = json.loads(details)
        against = (details or {}).get("checked_against") or {}
        version = against.get("version") if isinstance(against, dict) else None
        if isinstance(version, str) and version and str(object_id).isdigit():
            TenantPack.objects.filter(pk=int(object_id), validated_against_version="").update(
                validated_against_version=version[:50]
            )


def protect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [("packs", "0002_immutability_trigger")]

    operations = [
        migrations.AddField(
            model_name="tenantpack",
            name="validated_against_version",
            field=models.CharField(blank=True, default="", max_length=50),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(protect, migrations.RunPython.noop),
    ]
