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
    assert err.value.extra == {"existing_tenant_id": "TENANT_X"}
    assert "'TENANT_X'" in err.value.detail
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
    from governance.services import tenant_set_approval_policy

    with pytest.raises(Forbidden):
        tenant_set_approval_policy(
            principal=owner.principal, tenant_id="TENANT_A", require_activation_approval=False
        )
    tenant_a.refresh_from_db()
    assert tenant_a.require_activation_approval is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tenant_create__case_variants_at_once__one_tenant_others_409_naming_it(admin):
    """Eight spellings of one id created together, ten rounds: each round ends with exactly one
    tenant and one audit row; every other request is 409 tenant_exists naming the winner."""
    from audit.models import AuditEvent
    from tests.runtime_config.test_concurrency import run_in_threads

    for round_ in range(10):
        base = f"race_{round_}_acme"
        spellings = [
            base.upper(),
            base,
            base.title(),
            base.swapcase(),
            *(
                "".join(c.upper() if (i >> k) & 1 else c for k, c in enumerate(base))
                for i in (5, 10, 21, 42)
            ),
        ]
        results, errors = run_in_threads(
            len(spellings),
            lambda i, spellings=spellings: (
                tenant_create(
                    principal=admin.principal, tenant_id=spellings[i], name="Race"
                ).tenant_id
            ),
        )
        assert len(results) == 1, (round_, results, errors)
        assert all(isinstance(err, Conflict) for err in errors), errors
        assert {err.code for err in errors} == {"tenant_exists"}
        assert {err.extra["existing_tenant_id"] for err in errors} == {results[0]}
        assert (
            list(Tenant.objects.filter(tenant_id__iexact=base).values_list("tenant_id", flat=True))
            == results
        )
        assert AuditEvent.objects.filter(object_id__iexact=base).count() == 1
