import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tenants.models import RoleBinding, Tenant


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


def test_tenant__ids_differing_only_by_case__rejected_by_database(db):
    Tenant.objects.create(tenant_id="ACME_1", name="A", created_by="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        Tenant.objects.create(tenant_id="acme_1", name="B", created_by="t")
    assert list(Tenant.objects.values_list("tenant_id", flat=True)) == ["ACME_1"]


@pytest.mark.django_db(transaction=True)
def test_tenant_id_migration__case_duplicates_present__refused_naming_them():
    from django.core.management import call_command

    call_command("migrate", "tenants", "0002", verbosity=0)
    try:
        # Rows of the 0002 schema: today's model has columns that table does not.
        with connection.cursor() as cursor:
            for tenant_id in ("ACME_1", "Acme_1"):
                cursor.execute(
                    "INSERT INTO tenants (tenant_id, name, status, created_at, created_by, "
                    "updated_at, require_activation_approval) "
                    "VALUES (%s, 'A', 'ACTIVE', %s, 't', %s, NULL)",
                    [tenant_id, timezone.now(), timezone.now()],
                )
        with pytest.raises(RuntimeError, match=r"ACME_1.*Acme_1"):
            call_command("migrate", "tenants", "0003", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM tenants WHERE tenant_id = 'Acme_1'")
    finally:
        call_command("migrate", verbosity=0)
    assert Tenant.objects.count() == 1
