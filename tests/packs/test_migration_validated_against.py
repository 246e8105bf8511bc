"""packs 0003 fills `validated_against_version` of existing tenant packs from their
`pack.imported` audit rows."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from packs.models import TenantPack
from packs.services import domain_pack_import, tenant_pack_import
from tests.conftest import load_reference

MIGRATION = import_module("packs.migrations.0003_tenant_pack_validated_against")


def test_backfill__pack_imported_before_the_column__filled_from_its_audit_row(admin, tenant_a):
    if connection.vendor == "postgresql":
        pytest.skip("the trigger keeps the column immutable once migrated (SQLite only)")
    domain_pack_import(
        principal=admin.principal,
        content=load_reference("domain_capital_markets.json"),
        version="v3.2",
    )
    content = {**load_reference("tenant_finance_001.json"), "tenantId": "TENANT_A"}
    pack = tenant_pack_import(
        principal=admin.principal, tenant_id="TENANT_A", content=content, version="v1.0"
    ).pack
    with connection.cursor() as cursor:  # as the row was before the migration
        cursor.execute(
            "UPDATE tenant_packs SET validated_against_version = '' WHERE id = %s", [pack.pk]
        )
    # The step reads and writes through the editor's connection only.
    loader = MigrationLoader(connection)
    state = loader.project_state(("packs", "0003_tenant_pack_validated_against"))
    MIGRATION.backfill(state.apps, SimpleNamespace(connection=connection))
    assert TenantPack.objects.get(pk=pack.pk).validated_against_version == "v3.2"
