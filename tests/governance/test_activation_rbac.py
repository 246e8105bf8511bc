"""Activation endpoints and tenant isolation beyond the status codes: the status of every
endpoint for every kind of principal is in the one matrix, tests/api/test_rbac_matrix.py."""

import pytest

from governance.services import config_activate
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from tests.runtime_config.activation_helpers import (
    ACTIVATE_URL,
    SETUP,
    domain_pack,
    history_url,
    review_url,
    rollback_url,
    tenant_pack,
)


@pytest.fixture
def world(tenant_a, tenant_b, finance_domain, finance_tenant, second_admin):
    """Tenant A at revision 2 (tenant packs v1.4 then v1.5) with v1.6 ready, and one PENDING
    change request of A requested by second_admin."""
    domain_pack(finance_domain)
    for version in ("v1.4", "v1.5", "v1.6"):
        tenant_pack(finance_tenant, version=version)
    config_activate(
        principal=SETUP,
        tenant_id="TENANT_A",
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    )
    config_activate(principal=SETUP, tenant_id="TENANT_A", tenant_pack_version="v1.5")
    config = TenantActiveConfig.objects.get()
    change = ConfigChangeRequest.objects.create(
        tenant=tenant_a,
        domain=config.domain,
        domain_pack=config.domain_pack,
        tenant_pack=config.tenant_pack.__class__.objects.get(version="v1.6"),
        base_revision=config.revision,
        requested_by=second_admin.username,
    )
    return change


def call(endpoint: str, client, change):
    if endpoint == "activate":
        body = {"tenant_id": "TENANT_A", "tenant_pack_version": "v1.6"}
        return client.post(ACTIVATE_URL, body, format="json")
    if endpoint == "rollback":
        return client.post(rollback_url(), {}, format="json")
    return client.post(review_url(endpoint, change.pk), {}, format="json")


WRITES = ("activate", "rollback", "approve", "reject", "cancel")


def test_rbac__outsider_list__sees_nothing_of_tenant_a(world, outsider):
    body = outsider.client.get("/admin/config-changes").json()
    assert body["count"] == 0


def test_rbac__denied_writes__change_nothing(world, request):
    config = TenantActiveConfig.objects.get()
    for actor in ("viewer", "member", "outsider", "nobody"):
        client = request.getfixturevalue(actor).client
        for endpoint in WRITES:
            call(endpoint, client, world)
    assert TenantActiveConfig.objects.get().revision == config.revision
    assert ConfigChangeRequest.objects.get().status == "PENDING"


def test_rbac__tenant_context_header_of_other_tenant__tenant_context_mismatch(world, owner):
    response = owner.client.get(history_url(), HTTP_X_TENANT_ID="TENANT_B")
    assert response.status_code == 403
    assert response.json()["code"] == "tenant_context_mismatch"


def test_rbac__platform_context_header__narrows_change_list(world, admin):
    assert admin.client.get("/admin/config-changes").json()["count"] == 1
    narrowed = admin.client.get("/admin/config-changes", HTTP_X_TENANT_ID="TENANT_B")
    assert narrowed.json()["count"] == 0
