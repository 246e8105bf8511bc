"""Append-only rows and the `verify_audit` command."""

import threading

import pytest
from django.core.management import CommandError
from django.db import DatabaseError, connection, transaction

from audit.models import AuditAppendOnlyError, AuditEvent
from tenants.principals import Principal
from tenants.services import tenant_create, tenant_set_status
from tests.audit.helpers import events, verify


@pytest.fixture
def chain(admin, tenant_a) -> list[AuditEvent]:
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="SUSPENDED")
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="ACTIVE")
    tenant_create(principal=admin.principal, tenant_id="TENANT_C", name="C")
    tenant_create(principal=admin.principal, tenant_id="TENANT_D", name="D")
    return events()


def _raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _behind_the_triggers_back(sql: str, params=()) -> None:
    if connection.vendor == "postgresql":
        _raw("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        _raw(sql, params)
        _raw("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
    else:
        _raw(sql, params)


def test_audit_event__save_existing_row__refused(chain):
    row = chain[0]
    row.summary = "rewritten"
    with pytest.raises(AuditAppendOnlyError):
        row.save()
    assert AuditEvent.objects.get(pk=row.pk).summary != "rewritten"


def test_audit_event__delete_row__refused(chain):
    with pytest.raises(AuditAppendOnlyError):
        chain[0].delete()
    assert AuditEvent.objects.count() == len(chain)


@pytest.mark.parametrize(
    "operation",
    [
        lambda qs: qs.update(summary="x"),
        lambda qs: qs.delete(),
        lambda qs: qs.bulk_update(list(qs), ["summary"]),
        lambda qs: qs.bulk_create([AuditEvent(summary="x")]),
    ],
    ids=["update", "delete", "bulk_update", "bulk_create"],
)
def test_audit_event__queryset_bulk_changes__refused(chain, operation):
    with pytest.raises(AuditAppendOnlyError):
        operation(AuditEvent.objects.all())
    assert [(row.pk, row.summary) for row in events()] == [(row.pk, row.summary) for row in chain]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_events SET summary = 'rewritten'", "DELETE FROM audit_events"],
    ids=["update", "delete"],
)
def test_audit_event__raw_sql_on_postgres__refused_by_trigger(chain, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _raw(sql)
    assert [(row.pk, row.summary) for row in events()] == [(row.pk, row.summary) for row in chain]


def test_verify_audit__clean_chain__exit_0_with_count_and_head(chain):
    assert f"intact: {len(chain)} events verified, head {chain[-1].hash}" in verify()


def test_verify_audit__empty_trail__exit_0(db):
    assert f"intact: 0 events verified, head {'0' * 64}" in verify()


def test_verify_audit__row_content_altered__exit_1_naming_the_row(chain):
    target = chain[1]
    _behind_the_triggers_back(
        "UPDATE audit_events SET summary = %s WHERE id = %s", ["nothing happened", target.pk]
    )
    with pytest.raises(CommandError) as err:
        verify()
    assert err.value.returncode == 1
    assert f"id={target.pk}" in str(err.value)
    assert "content" in str(err.value)


def test_verify_audit__row_deleted__exit_1_naming_the_next_row(chain):
    _behind_the_triggers_back("DELETE FROM audit_events WHERE id = %s", [chain[1].pk])
    with pytest.raises(CommandError) as err:
        verify()
    assert err.value.returncode == 1
    assert f"id={chain[2].pk}" in str(err.value)
    assert "prev_hash" in str(err.value)


def test_verify_audit__row_rehashed_consistently__next_row_breaks(chain):
    # A forger who recomputes the hash of the row they edited still breaks the next link.
    from audit.services import row_hash

    target = chain[1]
    target.summary = "forged"
    forged = row_hash(target)
    _behind_the_triggers_back(
        "UPDATE audit_events SET summary = %s, hash = %s WHERE id = %s",
        ["forged", forged, target.pk],
    )
    with pytest.raises(CommandError) as err:
        verify()
    assert f"id={chain[2].pk}" in str(err.value)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_hash_chain__50_concurrent_mutations__single_unbroken_chain():
    principal = Principal.system("concurrency")
    count = 50
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def create(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            tenant_create(principal=principal, tenant_id=f"TENANT_T{index:02d}", name=f"T{index}")
        except BaseException as exc:  # reported below, in the test thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    rows = events()
    assert len(rows) == count
    assert len({row.prev_hash for row in rows}) == count
    assert f"intact: {count} events" in verify()
