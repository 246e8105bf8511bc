import io

import pytest
from django.core.management import call_command
from django.db import connection

APPS = ["tenants", "packs", "runtime_config", "governance", "audit"]
SPEC_TABLES = {
    "tenants": {
        "tenant_id",
        "name",
        "status",
        "created_at",
        "created_by",
        "updated_at",
        "require_activation_approval",
    },
    "domain_packs": {
        "id",
        "domain",
        "version",
        "version_key",
        "content_json",
        "checksum",
        "size_bytes",
        "status",
        "created_at",
        "created_by",
        "validation_warnings",
    },
    "tenant_packs": {
        "id",
        "tenant_id",
        "domain",
        "version",
        "version_key",
        "content_json",
        "checksum",
        "size_bytes",
        "status",
        "created_at",
        "created_by",
        "validation_warnings",
    },
    "tenant_active_config": {
        "tenant_id",
        "domain",
        "domain_pack_id",
        "tenant_pack_id",
        "activated_at",
        "activated_by",
        "revision",
    },
}


def test_makemigrations__models_unchanged__nothing_to_create(db):
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("app", APPS)
def test_migrations__app_to_zero_and_back__reversible(app):
    call_command("migrate", app, "zero", verbosity=0)
    call_command("migrate", verbosity=0)
    tables = set(connection.introspection.table_names())
    assert set(SPEC_TABLES) <= tables


@pytest.mark.django_db
@pytest.mark.parametrize(("table", "columns"), sorted(SPEC_TABLES.items()))
def test_spec_tables__after_migrate__have_spec_columns(table, columns):
    with connection.cursor() as cursor:
        described = connection.introspection.get_table_description(cursor, table)
    assert columns <= {column.name for column in described}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "unique"),
    [("domain_packs", ["domain", "version"]), ("tenant_packs", ["tenant_id", "version"])],
)
def test_spec_tables__after_migrate__have_unique_constraints_and_indexes(table, unique):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    assert any(c["unique"] and c["columns"] == unique for c in constraints.values())
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"]}
    owner = "domain" if table == "domain_packs" else "tenant_id"
    for column in (owner, "version", "status"):
        assert (column,) in indexed or any(cols[0] == column for cols in indexed)
