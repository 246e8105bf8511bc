"""The audit migrations run backward and forward; on PostgreSQL the trigger goes and comes back."""

import pytest
from django.core.management import call_command
from django.db import connection


def _has_trigger() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_events_append_only'")
        return cursor.fetchone()[0] == 1


def _tables() -> set[str]:
    return set(connection.introspection.table_names())


@pytest.mark.django_db(transaction=True)
def test_audit_migrations__backward_and_forward__table_and_trigger_follow(on_postgres):
    call_command("migrate", "audit", "0001", verbosity=0)
    assert "audit_events" in _tables()
    if on_postgres:
        assert not _has_trigger()
    call_command("migrate", "audit", "zero", verbosity=0)
    assert "audit_events" not in _tables()
    call_command("migrate", "audit", verbosity=0)
    assert "audit_events" in _tables()
    if on_postgres:
        assert _has_trigger()


def _indexes() -> dict[str, dict]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, "audit_events")


def _unique_columns() -> set[str]:
    return {
        info["columns"][0]
        for info in _indexes().values()
        if info["unique"] and not info["primary_key"] and len(info["columns"]) == 1
    }


@pytest.mark.django_db(transaction=True)
def test_audit_index_cleanup__forward_and_back__hash_indexes_go_prev_hash_stays_unique(
    on_postgres,
):
    names = set(_indexes())
    assert _unique_columns() == {"prev_hash"}
    assert "audit_action_time_id_idx" in names and "audit_action_idx" not in names
    assert not [name for name in names if name.endswith("_like")]
    call_command("migrate", "audit", "0005", verbosity=0)
    try:
        assert _unique_columns() == {"prev_hash", "hash"}
        names = set(_indexes())
        assert "audit_action_idx" in names and "audit_action_time_id_idx" not in names
        if on_postgres:
            assert len([name for name in names if name.endswith("_like")]) == 2
    finally:
        call_command("migrate", "audit", verbosity=0)
    assert _unique_columns() == {"prev_hash"}
    assert "audit_action_time_id_idx" in set(_indexes())
