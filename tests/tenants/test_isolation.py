"""A principal bound to tenant A gets not-found for tenant B's resources and sees only A."""

import pytest

from onboarding.errors import Forbidden, NotFound
from packs.selectors import tenant_pack_get, tenant_pack_list
from packs.services import tenant_pack_create
from runtime_config.selectors import active_config_get
from tenants.access import tenant_for_write
from tenants.selectors import tenant_get, tenant_list
from tenants.services import tenant_set_status


@pytest.fixture
def b_pack(admin, tenant_b):
    return tenant_pack_create(
        principal=admin.principal, tenant_id="TENANT_B", version="v1", content={}
    )


def test_tenant_list__tenant_bound_principal__sees_only_own_tenant(owner, tenant_b):
    assert [t.tenant_id for t in tenant_list(principal=owner.principal)] == ["TENANT_A"]


def test_tenant_list__platform_principal__sees_all(viewer, tenant_a, tenant_b):
    assert [t.tenant_id for t in tenant_list(principal=viewer.principal)] == [
        "TENANT_A",
        "TENANT_B",
    ]


def test_tenant_get__other_tenant__not_found(owner, tenant_b):
    with pytest.raises(NotFound):
        tenant_get(principal=owner.principal, tenant_id="TENANT_B")


def test_tenant_pack_get__other_tenant__not_found(owner, b_pack):
    with pytest.raises(NotFound):
        tenant_pack_get(principal=owner.principal, tenant_id="TENANT_B", version="v1")
    with pytest.raises(NotFound):
        tenant_pack_list(principal=owner.principal, tenant_id="TENANT_B")


def test_active_config_get__other_tenant__not_found(owner, tenant_b):
    with pytest.raises(NotFound):
        active_config_get(principal=owner.principal, tenant_id="TENANT_B")


def test_tenant_pack_get__own_tenant__found(owner, admin):
    tenant_pack_create(principal=admin.principal, tenant_id="TENANT_A", version="v1", content={})
    assert (
        tenant_pack_get(principal=owner.principal, tenant_id="TENANT_A", version="1.0").version
        == "v1"
    )


def test_tenant_for_write__viewer_of_tenant__forbidden(member):
    with pytest.raises(Forbidden):
        tenant_for_write(principal=member.principal, tenant_id="TENANT_A")


def test_tenant_set_status__outsider__not_found_and_unchanged(outsider, tenant_a):
    with pytest.raises(NotFound):
        tenant_set_status(principal=outsider.principal, tenant_id="TENANT_A", status="SUSPENDED")
    tenant_a.refresh_from_db()
    assert tenant_a.status == "ACTIVE"
