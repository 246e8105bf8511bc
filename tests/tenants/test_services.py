import pytest

from onboarding.errors import Conflict, Forbidden, InvalidInput
from tenants.models import Tenant
from tenants.services import tenant_create


def test_tenant_create__platform_admin__creates_row(admin):
    tenant = tenant_create(principal=admin.principal, tenant_id="TENANT_X", name="X")
    assert tenant.created_by == admin.username
    assert Tenant.objects.filter(tenant_id="TENANT_X").exists()


def test_tenant_create__duplicate_differing_in_case__conflict(admin):
    tenant_create(principal=admin.principal, tenant_id="TENANT_X", name="X")
    with pytest.raises(Conflict) as err:
        tenant_create(principal=admin.principal, tenant_id="tenant_x", name="X")
    assert err.value.code == "tenant_exists"
    assert Tenant.objects.count() == 1


@pytest.mark.parametrize("bad", ["", "x", "../x", "a" * 65, "-abc", "a b", "é1"])
def test_tenant_create__bad_id__invalid_tenant_id(admin, bad):
    with pytest.raises(InvalidInput) as err:
        tenant_create(principal=admin.principal, tenant_id=bad, name="X")
    assert err.value.code == "invalid_tenant_id"
    assert not Tenant.objects.exists()


def test_tenant_create__tenant_bound_admin__forbidden(owner):
    with pytest.raises(Forbidden):
        tenant_create(principal=owner.principal, tenant_id="TENANT_X", name="X")
    assert not Tenant.objects.filter(tenant_id="TENANT_X").exists()


def test_tenant_set_approval_policy__tenant_bound_admin__forbidden_and_unchanged(owner, tenant_a):
    from tenants.services import tenant_set_approval_policy

    with pytest.raises(Forbidden):
        tenant_set_approval_policy(
            principal=owner.principal, tenant_id="TENANT_A", require_activation_approval=False
        )
    tenant_a.refresh_from_db()
    assert tenant_a.require_activation_approval is None
