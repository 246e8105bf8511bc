"""Completeness and atomicity: every mutating service leaves exactly one audit row in its own
transaction; a failed call leaves none; a failed audit write undoes the change."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.test import RequestFactory

from audit.models import AuditEvent
from audit.receivers import AUDITED_SIGNALS
from governance.services import tenant_set_approval_policy
from onboarding.errors import ServiceError
from onboarding.events import DomainEvent
from onboarding.middleware import RequestIdMiddleware
from onboarding.request_context import current_request_id
from packs.models import DomainPack, TenantPack
from packs.services import pack_set_status
from tenants import signals as tenant_signals
from tenants.models import Tenant
from tenants.services import tenant_create, tenant_set_status
from tests.audit.helpers import events, verify


@dataclass
class World:
    admin: Any
    owner: Any
    member: Any
    outsider: Any
    tenant_a: Tenant
    domain_pack: DomainPack
    tenant_pack: TenantPack


@pytest.fixture
def world(admin, owner, member, outsider, tenant_a, domain_pack, tenant_pack) -> World:
    return World(admin, owner, member, outsider, tenant_a, domain_pack, tenant_pack)


def state() -> dict:
    """Everything a mutation could change, to show that a failed one changed nothing."""
    return {
        "tenants": sorted(Tenant.objects.values_list("tenant_id", "status", "name")),
        "policies": sorted(Tenant.objects.values_list("tenant_id", "require_activation_approval")),
        "domain_packs": sorted(DomainPack.objects.values_list("id", "status")),
        "tenant_packs": sorted(TenantPack.objects.values_list("id", "status")),
        "audit": AuditEvent.objects.count(),
    }


# (case id, call(world), expected audit row fields (world → dict)).
SUCCESSES = [
    (
        "tenant_create",
        lambda w: tenant_create(principal=w.admin.principal, tenant_id="TENANT_NEW", name="New"),
        lambda w: {
            "action": "tenant.created",
            "actor": w.admin.username,
            "tenant_id": "TENANT_NEW",
            "object_type": "tenant",
            "object_id": "TENANT_NEW",
        },
    ),
    (
        "tenant_set_status",
        lambda w: tenant_set_status(
            principal=w.owner.principal, tenant_id="TENANT_A", status="SUSPENDED", reason="audit"
        ),
        lambda w: {
            "action": "tenant.status_changed",
            "actor": w.owner.username,
            "tenant_id": "TENANT_A",
            "object_type": "tenant",
        },
    ),
    (
        "tenant_set_approval_policy",
        lambda w: tenant_set_approval_policy(
            principal=w.admin.principal, tenant_id="TENANT_A", require_activation_approval=True
        ),
        lambda w: {
            "action": "tenant.policy_changed",
            "actor": w.admin.username,
            "tenant_id": "TENANT_A",
        },
    ),
    (
        "pack_set_status domain",
        lambda w: pack_set_status(
            principal=w.admin.principal,
            pack_type="domain",
            status="ACTIVE",
            domain=w.domain_pack.domain,
            version="1.0.0",
        ),
        lambda w: {
            "action": "pack.status_changed",
            "actor": w.admin.username,
            "tenant_id": None,
            "object_type": "domain_pack",
            "object_id": str(w.domain_pack.pk),
            "domain": w.domain_pack.domain,
            "version": "1.0.0",
            "checksum": w.domain_pack.checksum,
        },
    ),
    (
        "pack_set_status tenant",
        lambda w: pack_set_status(
            principal=w.owner.principal,
            pack_type="tenant",
            status="DEPRECATED",
            tenant_id="TENANT_A",
            version="1.0.0",
        ),
        lambda w: {
            "action": "pack.status_changed",
            "actor": w.owner.username,
            "tenant_id": "TENANT_A",
            "object_type": "tenant_pack",
            "object_id": str(w.tenant_pack.pk),
            "version": "1.0.0",
            "checksum": w.tenant_pack.checksum,
        },
    ),
]

FAILURES = [
    (
        "tenant_create duplicate",
        lambda w: tenant_create(principal=w.admin.principal, tenant_id="tenant_a", name="Dup"),
    ),
    (
        "tenant_create by tenant admin",
        lambda w: tenant_create(principal=w.owner.principal, tenant_id="TENANT_X", name="X"),
    ),
    (
        "tenant_create bad id",
        lambda w: tenant_create(principal=w.admin.principal, tenant_id="../x", name="X"),
    ),
    (
        "tenant_set_status by viewer",
        lambda w: tenant_set_status(
            principal=w.member.principal, tenant_id="TENANT_A", status="SUSPENDED"
        ),
    ),
    (
        "tenant_set_status unknown status",
        lambda w: tenant_set_status(principal=w.admin.principal, tenant_id="TENANT_A", status="X"),
    ),
    (
        "tenant_set_approval_policy other tenant",
        lambda w: tenant_set_approval_policy(
            principal=w.outsider.principal, tenant_id="TENANT_A", require_activation_approval=True
        ),
    ),
    (
        "pack_set_status by tenant admin on a domain pack",
        lambda w: pack_set_status(
            principal=w.owner.principal,
            pack_type="domain",
            status="ACTIVE",
            domain=w.domain_pack.domain,
            version="1.0.0",
        ),
    ),
    (
        "pack_set_status unknown version",
        lambda w: pack_set_status(
            principal=w.admin.principal,
            pack_type="tenant",
            status="ACTIVE",
            tenant_id="TENANT_A",
            version="9.9.9",
        ),
    ),
]

NO_OPS = [
    (
        "tenant_set_status to the current status",
        lambda w: tenant_set_status(
            principal=w.admin.principal, tenant_id="TENANT_A", status="ACTIVE"
        ),
    ),
    (
        "pack_set_status to the current status",
        lambda w: pack_set_status(
            principal=w.admin.principal,
            pack_type="domain",
            status="DRAFT",
            domain=w.domain_pack.domain,
            version="1.0.0",
        ),
    ),
]


@pytest.mark.parametrize(
    ("call", "expected"), [c[1:] for c in SUCCESSES], ids=[c[0] for c in SUCCESSES]
)
def test_mutating_service__success__exactly_one_audit_row(world, call, expected):
    before = AuditEvent.objects.count()
    call(world)
    rows = list(AuditEvent.objects.order_by("id")[before:])
    assert len(rows) == 1
    row = rows[0]
    for name, value in expected(world).items():
        assert getattr(row, name) == value, name
    assert row.summary
    assert row.request_id == ""  # not inside a request
    assert len(row.hash) == 64


@pytest.mark.parametrize("call", [c[1] for c in FAILURES], ids=[c[0] for c in FAILURES])
def test_mutating_service__failure__no_audit_row_and_nothing_changed(world, call):
    before = state()
    with pytest.raises(ServiceError):
        call(world)
    assert state() == before


@pytest.mark.parametrize("call", [c[1] for c in NO_OPS], ids=[c[0] for c in NO_OPS])
def test_mutating_service__no_op__no_audit_row(world, call):
    before = state()
    call(world)
    assert state() == before


def test_every_domain_signal__connected__one_receiver_writes_a_row(admin):

    for index, (name, signal) in enumerate(AUDITED_SIGNALS.items()):
        signal.send(
            sender=None,
            event=DomainEvent(action=name, actor=admin.username, summary=f"event {index}"),
        )
    assert [row.action for row in events()] == list(AUDITED_SIGNALS)


def _force_audit_insert_failure(action: str) -> None:
    """A real database error on the audit INSERT of one action (rolled back with the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_audit_fail() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'forced audit failure'; END; $$ LANGUAGE plpgsql;"
            )
            cursor.execute(
                "CREATE TRIGGER test_audit_fail BEFORE INSERT ON audit_events FOR EACH ROW "
                f"WHEN (NEW.action = '{action}') EXECUTE FUNCTION test_audit_fail();"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_audit_fail BEFORE INSERT ON audit_events "
                f"WHEN NEW.action = '{action}' BEGIN SELECT RAISE(ABORT, 'forced'); END;"
            )


def test_audit_write__database_refuses_it__change_rolled_back(admin, tenant_a):
    _force_audit_insert_failure("tenant.status_changed")
    with pytest.raises(DatabaseError):
        tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="SUSPENDED")
    tenant_a.refresh_from_db()
    assert tenant_a.status == "ACTIVE"
    assert not AuditEvent.objects.exists()


def test_audit_write__receiver_after_it_raises__change_and_row_rolled_back(admin):
    def explode(sender, **kwargs):
        raise RuntimeError("downstream receiver failed")

    tenant_signals.tenant_created.connect(explode, dispatch_uid="test-explode")
    try:
        with pytest.raises(RuntimeError):
            tenant_create(principal=admin.principal, tenant_id="TENANT_X", name="X")
    finally:
        tenant_signals.tenant_created.disconnect(dispatch_uid="test-explode")
    assert not Tenant.objects.filter(tenant_id="TENANT_X").exists()
    assert not AuditEvent.objects.exists()


def test_audit_write__event_is_not_a_domain_event__change_rolled_back(admin, tenant_a):
    with pytest.raises(TypeError):
        tenant_signals.tenant_created.send(sender=None, event={"action": "tenant.created"})
    assert not AuditEvent.objects.exists()


def test_request_id__inside_a_request__recorded_and_reset_after(admin):
    def view(request):
        tenant_create(principal=admin.principal, tenant_id="TENANT_R", name="R")
        return HttpResponse("ok")

    request = RequestFactory().post("/x", HTTP_X_REQUEST_ID="req-abc.123")
    response = RequestIdMiddleware(view)(request)
    assert response["X-Request-ID"] == "req-abc.123"
    assert events()[0].request_id == "req-abc.123"
    assert current_request_id() == ""


@pytest.mark.parametrize("incoming", ["bad id<script>", "trailing-newline\n", "x" * 129, ""])
def test_request_id__malformed_incoming__replaced_by_a_generated_one(admin, incoming):
    def view(request):
        tenant_create(principal=admin.principal, tenant_id="TENANT_R", name="R")
        return HttpResponse("ok")

    request = RequestFactory().post("/x", HTTP_X_REQUEST_ID=incoming)
    response = RequestIdMiddleware(view)(request)
    generated = response["X-Request-ID"]
    assert len(generated) == 32 and generated != incoming
    assert events()[0].request_id == generated


def test_hash_chain__successive_rows__each_links_to_the_previous(admin, tenant_a):
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="SUSPENDED")
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="ACTIVE")
    tenant_create(principal=admin.principal, tenant_id="TENANT_C", name="C")
    rows = events()
    assert rows[0].prev_hash == "0" * 64
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]


def test_details__odd_values__stored_as_plain_json_and_chain_verifies(admin):
    tenant_signals.tenant_created.send(
        sender=None,
        event=DomainEvent(
            action="tenant.created",
            actor=admin.username,
            summary="odd",
            details={
                "when": datetime(2026, 1, 2, tzinfo=UTC),
                "amount": Decimal("1.50"),
                "big": 2**70,
                "nan": float("nan"),
                "whole": 100.0,
                "nested": {"list": [1, "two", None, True]},
            },
        ),
    )
    row = AuditEvent.objects.get()
    assert row.details["big"] == str(2**70)
    assert row.details["nan"] == "nan"
    assert "intact: 1 events" in verify()


def test_request_id__through_the_api__recorded_on_the_row(admin):
    response = admin.client.post(
        "/admin/tenants",
        {"tenant_id": "TENANT_H", "name": "H"},
        format="json",
        HTTP_X_REQUEST_ID="trace-42",
    )
    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "trace-42"
    assert [(row.action, row.request_id) for row in events()] == [("tenant.created", "trace-42")]
