"""The keyed audit chain (issue 13, item 11): whoever can rewrite rows in the database, with the
trigger disabled, cannot recompute their hashes without AUDIT_HMAC_KEY; keys rotate; a head kept
elsewhere proves that no tail was cut; chains from before the key are sealed, not rewritten."""

import hashlib
import hmac
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import GENESIS_HASH, AuditEvent
from audit.services import CHAIN_KEYED_ACTION, ChainHasher, key_id_of, row_content
from packs.canonical import canonical_json
from tenants.principals import Principal
from tenants.services import tenant_create, tenant_set_status
from tests.audit.helpers import events, verify

OTHER_KEY = "another-audit-chain-key-of-32-characters-or-more"


@pytest.fixture
def chain(admin, tenant_a) -> list[AuditEvent]:
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="SUSPENDED")
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="ACTIVE")
    tenant_create(principal=admin.principal, tenant_id="TENANT_C", name="C")
    return events()


def _raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")


def _plain_sha(row: AuditEvent) -> str:
    """What an attacker without the key computes: the earlier, unkeyed hash."""
    digest = hashlib.sha256(row.prev_hash.encode("ascii"))
    digest.update(canonical_json(row_content(row)))
    return digest.hexdigest()


def _rewrite_from(rows: list[AuditEvent], index: int, *, keep_key_id: bool) -> None:
    """Edit rows[index] and recompute every hash from there on, as the database owner can."""
    prev = rows[index - 1].hash if index else GENESIS_HASH
    for position, row in enumerate(rows[index:]):
        row.prev_hash = prev
        if position == 0:
            row.summary = "forged"
        if not keep_key_id:
            row.key_id = ""
        row.hash = _plain_sha(row)
        _raw(
            "UPDATE audit_events SET summary = %s, prev_hash = %s, hash = %s, key_id = %s "
            "WHERE id = %s",
            [row.summary, row.prev_hash, row.hash, row.key_id, row.pk],
        )
        prev = row.hash


def _verify_fails(code: int = 1, *args: str) -> str:
    with pytest.raises(CommandError) as err:
        call_command("verify_audit", *args, stdout=StringIO())
    assert err.value.returncode == code, str(err.value)
    return str(err.value)


def test_audit_append__rows_carry_the_current_key_id(chain, settings):
    assert {row.key_id for row in chain} == {key_id_of(settings.AUDIT_HMAC_KEY)}
    assert all(settings.AUDIT_HMAC_KEY not in str(row_content(row)) for row in chain)


@pytest.mark.parametrize("keep_key_id", [True, False], ids=["key-id-kept", "key-id-cleared"])
def test_verify_audit__chain_rewritten_with_plain_sha256__exit_1(chain, keep_key_id):
    _rewrite_from(chain, 1, keep_key_id=keep_key_id)
    message = _verify_fails(1)
    assert "id=" in message or "not keyed" in message


def test_verify_audit__rows_rehashed_with_another_key__exit_2_unknown_key(chain, settings):
    settings.AUDIT_HMAC_KEY = OTHER_KEY
    message = _verify_fails(2)
    assert key_id_of("test-only-audit-chain-key-not-for-production") in message


def test_key_rotation__old_key_listed__old_and_new_rows_verify(chain, settings, admin):
    old_key = settings.AUDIT_HMAC_KEY
    settings.AUDIT_HMAC_KEY = OTHER_KEY
    settings.AUDIT_HMAC_OLD_KEYS = [old_key]
    tenant_create(principal=admin.principal, tenant_id="TENANT_R", name="R")
    rows = events()
    assert {row.key_id for row in rows} == {key_id_of(old_key), key_id_of(OTHER_KEY)}
    assert f"{len(rows)} events verified" in verify()
    settings.AUDIT_HMAC_OLD_KEYS = []
    assert key_id_of(old_key) in _verify_fails(2, "--full")  # the checkpoint vouches otherwise


def test_expect_head__current_head__passes(chain):
    assert "expected head found, 0 events after it" in _verify_with_head(chain[-1].hash)


def test_expect_head__earlier_head__passes_through(chain):
    assert "expected head found, 2 events after it" in _verify_with_head(chain[-3].hash)


def test_expect_head__tail_removed__exit_1(chain):
    noted = chain[-1].hash
    _raw("DELETE FROM audit_events WHERE id = %s", [chain[-1].pk])
    verify()  # the shorter chain is intact in itself ...
    message = _verify_fails(1, "--expect-head", noted)  # ... but lacks the noted head
    assert noted in message


@pytest.mark.parametrize("head", ["abc", "X" * 64, ""])
def test_expect_head__malformed__exit_2(chain, head):
    _verify_fails(2, "--expect-head", head)


def _verify_with_head(head: str) -> str:
    out = StringIO()
    call_command("verify_audit", "--expect-head", head, stdout=out)
    return out.getvalue()


# --- chains from before the key: audit migration 0004 seals them -------------------------------


def _plain_rows(count: int) -> None:
    """Rows as the earlier code wrote them (no key id, plain SHA-256), through raw SQL because
    the model of this code has a key_id column the old schema lacks."""
    from django.utils import timezone

    prev = GENESIS_HASH
    for index in range(count):
        row = AuditEvent(
            occurred_at=timezone.now(),
            actor="old",
            action="tenant.created",
            summary=f"plain row {index}",
            details={},
            prev_hash=prev,
        )
        row.hash = _plain_sha(row)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_events (occurred_at, actor, action, tenant_id, object_type, "
                "object_id, domain, version, checksum, summary, details, request_id, prev_hash, "
                "hash) VALUES (%s, %s, %s, NULL, '', '', '', '', '', %s, %s, '', %s, %s)",
                [row.occurred_at, row.actor, row.action, row.summary, "{}", prev, row.hash],
            )
        prev = row.hash


# At migration 0004 there is no checkpoint table yet: walk everything, record nothing.
AT_0004 = ("--full", "--no-checkpoint")


@pytest.mark.django_db(transaction=True)
def test_migration__plain_chain__sealed_by_a_keyed_row_and_reversible():
    call_command("migrate", "audit", "0003", verbosity=0)
    try:
        _plain_rows(3)
        call_command("migrate", "audit", "0004", verbosity=0)
        rows = events()
        assert [row.key_id == "" for row in rows] == [True, True, True, False]
        assert rows[-1].action == CHAIN_KEYED_ACTION
        assert rows[-1].prev_hash == rows[2].hash
        assert "3 plain SHA-256 rows sealed" in verify(*AT_0004)
        tenant_create(principal=Principal.system("t"), tenant_id="TENANT_N", name="N")
        assert "5 events verified" in verify(*AT_0004)

        # The database owner rewrites a plain row and its successors' plain hashes: the seal's
        # HMAC covers the old last plain hash, so the chain breaks at the seal.
        _rewrite_from(events()[:3], 1, keep_key_id=True)
        assert f"id={events()[3].pk}" in _verify_fails(1, *AT_0004)
    finally:
        _raw("DELETE FROM audit_events")
        call_command("migrate", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_migration__backward__removes_the_seal_then_forward_again():
    call_command("migrate", "audit", "0003", verbosity=0)
    try:
        _plain_rows(2)
        call_command("migrate", "audit", "0004", verbosity=0)
        assert AuditEvent.objects.count() == 3
        call_command("migrate", "audit", "0003", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM audit_events")
            assert cursor.fetchone()[0] == 2
        call_command("migrate", "audit", "0004", verbosity=0)
        assert "2 plain SHA-256 rows sealed" in verify(*AT_0004)
    finally:
        _raw("DELETE FROM audit_events")
        call_command("migrate", verbosity=0)


def test_verify_audit__plain_rows_without_seal__exit_1(chain):
    """All rows turned plain (the seal or keyed rows dropped): nothing vouches for them."""
    _rewrite_from(chain, 0, keep_key_id=False)
    assert "not keyed" in _verify_fails(1)


@pytest.mark.parametrize("key", ["k" * 32, "a-longer-key-" * 8, "é-unicode-key-of-some-length-ü"])
def test_chain_hasher__precomputed_pads__equal_to_the_standard_hmac(key):
    content = {"summary": "s", "details": {"n": 1}, "prev_hash": "a" * 64}
    expected = hmac.new(
        key.encode(), b"a" * 64 + canonical_json({**content, "key_id": "id"}), hashlib.sha256
    ).hexdigest()
    assert ChainHasher({"id": key}).hash_content(dict(content), "id") == expected
