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
