import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from tenants.models import RoleBinding


@pytest.mark.parametrize("bound", [False, True])
def test_role_binding__second_binding_same_scope__rejected_by_database(tenant_a, bound):
    user = get_user_model().objects.create_user("u")
    tenant = tenant_a if bound else None
    RoleBinding.objects.create(user=user, role="VIEWER", tenant=tenant)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleBinding.objects.create(user=user, role="ADMIN", tenant=tenant)
    assert RoleBinding.objects.count() == 1


def test_role_binding__platform_and_tenant_scopes__both_allowed(tenant_a):
    user = get_user_model().objects.create_user("u")
    RoleBinding.objects.create(user=user, role="VIEWER", tenant=None)
    RoleBinding.objects.create(user=user, role="ADMIN", tenant=tenant_a)
    assert RoleBinding.objects.count() == 2
