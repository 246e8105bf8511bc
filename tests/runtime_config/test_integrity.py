"""A pack row whose stored content no longer matches its checksum (rewritten in the database past
the trigger) is never activated: activation, approval and rollback answer 409
`pack_integrity_failure`, a dry run shows it, and nothing is written (issue 13, item 8)."""

import json

import pytest
from django.db import connection
from django.test import Client

from audit.models import AuditEvent
from governance.services import change_request_approve, config_activate
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from tests.runtime_config.activation_helpers import (
    ACTIVATE_URL,
    DOMAIN,
    SETUP,
    assert_problem,
    counts,
    domain_pack,
    review_url,
    rollback_url,
    tenant_pack,
)


def tamper(pack, **changes) -> None:
    """What a database owner could do: rewrite the content, triggers disabled."""
    content = {**pack.content_json, **changes}
    table = pack._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                f"UPDATE {table} SET content_json = %s::jsonb WHERE id = %s",
                [json.dumps(content), pack.pk],
            )
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute(
                f"UPDATE {table} SET content_json = %s WHERE id = %s",
                [json.dumps(content), pack.pk],
            )


def state() -> tuple:
    return (*counts(), AuditEvent.objects.count())


@pytest.fixture
def packs(tenant_a, finance_domain, finance_tenant):
    return domain_pack(finance_domain), tenant_pack(finance_tenant)


BODY = {"tenant_id": "TENANT_A", "domain_pack_version": "v3.2", "tenant_pack_version": "v1.4"}


@pytest.mark.parametrize("which", ["domain", "tenant"])
def test_activate__tampered_pack__409_pack_integrity_failure_nothing_written(admin, packs, which):
    tamper(packs[0] if which == "domain" else packs[1], tenantName="rewritten")
    before = state()
    response = admin.client.post(ACTIVATE_URL, BODY, format="json")
    problem = assert_problem(response, 409, "pack_integrity_failure")
    assert [item["path"] for item in problem["errors"]] == [f"/{which}_pack_version"]
    assert state() == before


def test_activate_page__tampered_pack__problem_toast_nothing_written(admin, packs):
    tamper(packs[1], tenantName="rewritten")
    client = Client()
    client.force_login(admin.user)
    before = state()
    response = client.post(
        ACTIVATE_URL,
        {**BODY, "domain": DOMAIN, "expected_revision": "0"},
        HTTP_ACCEPT="text/html",
        HTTP_HX_REQUEST="true",
    )
    assert_problem(response, 409, "pack_integrity_failure")
    assert state() == before


def test_dry_run__tampered_pack__preview_refused_with_the_finding(admin, packs):
    tamper(packs[1], tenantName="rewritten")
    before = state()
    response = admin.client.post(ACTIVATE_URL, {**BODY, "dry_run": True}, format="json")
    assert response.status_code == 200
    preview = response.json()
    assert preview["outcome"] == "refused"
    assert preview["problems"] == ["pack_integrity_failure"]
    assert preview["errors"][0]["path"] == "/tenant_pack_version"
    assert state() == before


def test_approve__pack_tampered_while_pending__409_request_stays_pending(
    admin, second_admin, packs
):
    from tenants.models import Tenant

    Tenant.objects.filter(tenant_id="TENANT_A").update(require_activation_approval=True)
    pending = config_activate(principal=admin.principal, **BODY).change_request
    tamper(packs[1], tenantName="rewritten")
    before = state()
    response = second_admin.client.post(review_url("approve", pending.pk), {}, format="json")
    assert_problem(response, 409, "pack_integrity_failure")
    assert ConfigChangeRequest.objects.get(pk=pending.pk).status == "PENDING"
    # Nothing written but the audit row of the refused approval (issue 15).
    assert state()[:-1] == before[:-1]
    refused = AuditEvent.objects.order_by("-id").first()
    assert (refused.action, refused.details["code"]) == (
        "change_request.review_refused",
        "pack_integrity_failure",
    )


def test_rollback__earlier_pack_tampered__409_nothing_written(admin, packs, finance_tenant):
    config_activate(principal=SETUP, **BODY)
    tenant_pack(finance_tenant, version="v1.5")
    config_activate(principal=SETUP, tenant_id="TENANT_A", tenant_pack_version="v1.5")
    tamper(packs[1], tenantName="rewritten")
    before = state()
    response = admin.client.post(rollback_url(), {}, format="json")
    assert_problem(response, 409, "pack_integrity_failure")
    assert TenantActiveConfig.objects.get().tenant_pack.version == "v1.5"
    assert state() == before


def test_activate__intact_packs__each_checksum_computed_once(admin, packs, monkeypatch):
    """A 5 MB pack costs tens of milliseconds to hash: one activation hashes each pack once,
    although it checks before and again after taking its locks."""
    import packs.canonical

    calls = []
    real = packs.canonical.checksum
    monkeypatch.setattr(packs.canonical, "checksum", lambda value: calls.append(1) or real(value))
    outcome = config_activate(principal=admin.principal, **BODY)
    assert outcome.status == "applied"
    assert len(calls) == 2


def test_approve__intact_packs__applies(admin, second_admin, packs):
    from tenants.models import Tenant

    Tenant.objects.filter(tenant_id="TENANT_A").update(require_activation_approval=True)
    pending = config_activate(principal=admin.principal, **BODY).change_request
    change_request_approve(principal=second_admin.principal, change_request_id=pending.pk)
    assert TenantActiveConfig.objects.get().revision == 1
