"""Tenant ids are unique whatever their case (issue 13, item 6): a unique index on lower(tenant_id)
on both databases. Ids that already differ only by case stop the migration with their names:
which one to keep is an operator's decision, never the migration's."""

import django.db.models.functions.text
from django.db import migrations, models


def refuse_case_duplicates(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    seen: dict[str, list[str]] = {}
    for tenant_id in Tenant.objects.using(schema_editor.connection.alias).values_list(
        "tenant_id", flat=True
    ):
        seen.setdefault(tenant_id.lower(), []).append(tenant_id)
    clashes = sorted(ids for ids in seen.values() if len(ids) > 1)
    if clashes:
        raise RuntimeError(
            "Tenant ids that differ only by case must be merged or renamed before this "
            f"migration: {clashes}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_role_binding_scopes"),
    ]

    operations = [
        migrations.RunPython(refuse_case_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="tenant",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("tenant_id"),
                name="tenants_tenant_id_ci_unique",
            ),
        ),
    ]
