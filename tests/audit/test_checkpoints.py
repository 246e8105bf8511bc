"""`verify_audit` from signed checkpoints (issue 26): the new rows only, `--full` for everything,
forged checkpoints refused."""

import pytest
from django.core.management import CommandError

from audit.checkpoints import checkpoint_signature
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import audit_append
from audit.verification import _canonical
from onboarding.events import DomainEvent
from packs.canonical import canonical_json
from tenants.services import tenant_create, tenant_set_status
from tests.audit.helpers import events, verify
from tests.audit.test_keyed_chain import OTHER_KEY, _raw


@pytest.fixture
def chain(admin, tenant_a) -> list[AuditEvent]:
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="SUSPENDED")
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="ACTIVE")
    tenant_create(principal=admin.principal, tenant_id="TENANT_C", name="C")
    return events()


def _more_rows(admin, count: int = 3) -> list[AuditEvent]:
    for index in range(count):
        tenant_create(principal=admin.principal, tenant_id=f"TENANT_N{index}", name=f"N{index}")
    return events()


def _fails(*args: str) -> str:
    with pytest.raises(CommandError) as err:
        verify(*args)
    assert err.value.returncode == 1, str(err.value)
    return str(err.value)


def _tamper(row: AuditEvent) -> None:
    _raw("UPDATE audit_events SET summary = %s WHERE id = %s", ["nothing happened", row.pk])


def test_verify_audit__intact_walk__writes_a_signed_checkpoint_at_the_head(chain):
    verify()
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.event_id, checkpoint.event_hash) == (chain[-1].pk, chain[-1].hash)
    assert checkpoint.rows_verified == len(chain)
    assert len(checkpoint.signature) == 64


def test_verify_audit__after_a_checkpoint__walks_only_the_new_rows(chain, admin):
    verify()
    rows = _more_rows(admin)
    out = verify()
    assert f"intact: 3 events verified, head {rows[-1].hash}" in out
    assert "from checkpoint" in out
    assert "intact: 0 events verified" in verify()
    assert f"intact: {len(rows)} events verified" in verify("--full")


def test_verify_audit__tampered_new_row__incremental_exit_1(chain, admin):
    verify()
    rows = _more_rows(admin)
    _tamper(rows[-2])
    message = _fails()
    assert f"id={rows[-2].pk}" in message and "content" in message
    assert AuditCheckpoint.objects.count() == 1  # a broken walk records nothing


def test_verify_audit__tampered_old_row__full_catches_it(chain, admin):
    verify()
    _more_rows(admin)
    _tamper(chain[1])
    assert "intact: 3 events verified" in verify()  # the checkpoint vouches for the old rows
    message = _fails("--full")
    assert f"id={chain[1].pk}" in message


def test_verify_audit__checkpointed_row_rewritten__exit_1(chain):
    verify()
    _raw("UPDATE audit_events SET hash = %s WHERE id = %s", ["f" * 64, chain[-1].pk])
    assert "no longer has the hash" in _fails()


@pytest.mark.parametrize("forgery", ["signature", "other-key", "moved"])
def test_verify_audit__forged_checkpoint__refused_exit_1_and_walk_from_a_valid_one(
    chain, admin, forgery
):
    verify()
    rows = _more_rows(admin)
    head = rows[-1]
    signature = "0" * 64
    if forgery == "other-key":
        signature = checkpoint_signature(event_id=head.pk, event_hash=head.hash, key=OTHER_KEY)
    valid = AuditCheckpoint.objects.get()
    forged = AuditCheckpoint.objects.create(
        event_id=head.pk,
        event_hash=head.hash,
        key_id=valid.key_id,
        signature=signature if forgery != "moved" else valid.signature,
        rows_verified=1,
    )
    _tamper(rows[-2])  # the forger hides a change behind their checkpoint: still caught
    message = _fails()
    assert f"id={rows[-2].pk}" in message
    _raw("UPDATE audit_events SET summary = %s WHERE id = %s", [rows[-2].summary, rows[-2].pk])
    message = _fails()
    assert f"checkpoint(s) id={forged.pk} refused" in message
    assert "intact: 3 events verified" in message
    assert AuditCheckpoint.objects.count() == 2  # nothing recorded while a forgery stands


def test_verify_audit__no_checkpoint_flag__records_nothing(chain):
    verify("--no-checkpoint")
    assert not AuditCheckpoint.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_verify_audit__committed_rows_outside_a_transaction__same_verdicts(admin, tenant_a):
    # The walk opens its own transaction for the server-side cursor.
    for index in range(5):
        tenant_create(principal=admin.principal, tenant_id=f"TENANT_T{index}", name=f"T{index}")
    rows = events()
    assert f"intact: {len(rows)} events verified" in verify("--full")
    _tamper(rows[2])
    try:
        assert f"id={rows[2].pk}" in _fails("--full")
    finally:
        _raw("UPDATE audit_events SET summary = %s WHERE id = %s", [rows[2].summary, rows[2].pk])


@pytest.mark.parametrize("where", ["first chunk", "middle chunk", "last row"])
def test_verify_audit__rows_in_many_chunks__tampering_anywhere_caught(admin, where, monkeypatch):
    # Chunks of two rows: on PostgreSQL a reading thread runs chunks ahead of the walk, and must
    # stop cleanly when the walk stops at a broken row, leaving the connection usable.
    monkeypatch.setattr("audit.verification.CHUNK", 2)
    rows = _more_rows(admin, 9)
    assert f"intact: {len(rows)} events verified" in verify("--full", "--no-checkpoint")
    changed = rows[{"first chunk": 0, "middle chunk": len(rows) // 2, "last row": -1}[where]]
    _tamper(changed)
    assert f"id={changed.pk}" in _fails("--full")
    assert AuditEvent.objects.count() == len(rows)  # the connection still answers


@pytest.mark.parametrize(
    "details",
    [
        {"a": 100.0, "b": 1e16, "c": 1.5},
        {"version": "v1.0", "n": 2},
        {"text": "re-run e+1 .0,"},
        {"nested": [{"x": 2.0}, 3.25, -0.0]},
        {"deep": {"b": [1e300, 12345678901234567890.0]}, "a": "x.0,"},
        {},
    ],
    ids=["floats", "dotted-string", "marker-text", "nested", "large-floats", "empty"],
)
def test_verify_audit__fast_serialisation__same_bytes_as_canonical_json(details):
    content = {"summary": "s", "details": details, "prev_hash": "0" * 64}
    assert _canonical(content) == canonical_json(content)


def test_verify_audit__rows_with_float_details__intact(db, monkeypatch):
    for details in ({"ratio": 100.0}, {"ratio": 0.5, "big": 1e20}, {"v": "v1.0"}):
        audit_append(
            DomainEvent(action="tenant.status_changed", actor="a", summary="s", details=details)
        )
    assert "intact: 3 events verified" in verify("--full")
