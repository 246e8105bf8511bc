import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from onboarding.errors import Conflict
from packs.models import DomainPack, ImmutablePackError, TenantPack
from packs.services import domain_pack_create, pack_set_status, tenant_pack_create
from runtime_config.models import TenantActiveConfig


def _raw_domain_pack(**overrides):
    values = {
        "domain": "D",
        "version": "v1.0",
        "version_key": "1",
        "content_json": {},
        "checksum": "0" * 64,
        "size_bytes": 2,
        "created_by": "t",
    }
    values.update(overrides)
    return DomainPack(**values)


@pytest.mark.django_db
def test_domain_packs__duplicate_domain_version__rejected_by_database():
    _raw_domain_pack().save()
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_domain_pack(version_key="2").save()
    assert DomainPack.objects.count() == 1


def test_tenant_packs__duplicate_tenant_version__rejected_by_database(admin, tenant_a):
    tenant_pack_create(principal=admin.principal, tenant_id="TENANT_A", version="v1", content={})
    with pytest.raises(IntegrityError), transaction.atomic():
        TenantPack.objects.create(
            tenant=tenant_a,
            domain="",
            version="v1",
            version_key="x",
            content_json={},
            checksum="0" * 64,
            size_bytes=2,
            created_by="t",
        )
    assert TenantPack.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_tenant_packs__unknown_tenant__foreign_key_enforced():
    # Foreign keys are deferred on both databases: the commit of the atomic block checks them.
    with pytest.raises(IntegrityError), transaction.atomic():
        TenantPack.objects.create(
            tenant_id="NOPE",
            domain="",
            version="v1",
            version_key="1",
            content_json={},
            checksum="0" * 64,
            size_bytes=2,
            created_by="t",
        )


@pytest.mark.django_db
@pytest.mark.parametrize("table", ["domain_packs", "tenants"])
def test_status_column__bad_value__rejected_by_check_constraint(table, tenant_a):
    _raw_domain_pack().save()
    key = "id" if table == "domain_packs" else "tenant_id"
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET status = 'BOGUS' WHERE {key} IS NOT NULL")


def test_tenant_delete__packs_exist__protected(admin, tenant_a):
    tenant_pack_create(principal=admin.principal, tenant_id="TENANT_A", version="v1", content={})
    with pytest.raises(ProtectedError):
        tenant_a.delete()


def test_pack_content__changed_through_model__refused(admin):
    pack = domain_pack_create(principal=admin.principal, domain="D", version="v1", content={"a": 1})
    pack = DomainPack.objects.get(pk=pack.pk)
    pack.content_json["a"] = 2
    with pytest.raises(ImmutablePackError):
        pack.save()
    pack = DomainPack.objects.get(pk=pack.pk)
    pack.version = "v9"
    with pytest.raises(ImmutablePackError):
        pack.save()
    with pytest.raises(ImmutablePackError):
        DomainPack.objects.filter(pk=pack.pk).update(checksum="f" * 64)
    assert DomainPack.objects.get(pk=pack.pk).content_json == {"a": 1}


def test_pack__delete__refused(admin):
    pack = domain_pack_create(principal=admin.principal, domain="D", version="v1", content={})
    with pytest.raises(ImmutablePackError):
        pack.delete()
    with pytest.raises(ImmutablePackError):
        DomainPack.objects.all().delete()
    assert DomainPack.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize(
    "assignment",
    [
        "content_json = '{\"a\": 2}'::jsonb",
        "checksum = repeat('f', 64)",
        "version = 'v9'",
        "domain = 'Other'",
    ],
)
def test_pack_content__raw_sql_update__refused_by_trigger(admin, assignment):
    pack = domain_pack_create(principal=admin.principal, domain="D", version="v1", content={"a": 1})
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE domain_packs SET {assignment} WHERE id = %s", [pack.pk])
    assert DomainPack.objects.get(pk=pack.pk).content_json == {"a": 1}


@pytest.mark.postgres
def test_pack_status__raw_sql_update__allowed_by_trigger(admin):
    pack = domain_pack_create(principal=admin.principal, domain="D", version="v1", content={})
    with connection.cursor() as cursor:
        cursor.execute("UPDATE domain_packs SET status = 'DEPRECATED' WHERE id = %s", [pack.pk])
    assert DomainPack.objects.get(pk=pack.pk).status == "DEPRECATED"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["ACTIVE"], True),
        (["DEPRECATED"], True),
        (["ACTIVE", "DEPRECATED", "ACTIVE"], True),
        (["DEPRECATED", "DRAFT"], False),
        (["ACTIVE", "DRAFT"], False),
    ],
)
def test_pack_set_status__transitions__only_allowed_moves(admin, path, allowed):
    domain_pack_create(principal=admin.principal, domain="D", version="v1", content={})
    *ok_steps, last = path
    for status in ok_steps:
        pack_set_status(
            principal=admin.principal, pack_type="domain", domain="D", version="v1", status=status
        )
    if allowed:
        pack = pack_set_status(
            principal=admin.principal, pack_type="domain", domain="D", version="v1", status=last
        )
        assert pack.status == last
    else:
        with pytest.raises(Conflict) as err:
            pack_set_status(
                principal=admin.principal, pack_type="domain", domain="D", version="v1", status=last
            )
        assert err.value.code == "invalid_transition"
        assert DomainPack.objects.get().status == ok_steps[-1]


def test_pack_set_status__active_for_a_tenant__pack_in_use_names_tenant(admin, tenant_a):
    pack = domain_pack_create(principal=admin.principal, domain="D", version="v1", content={})
    pack_set_status(
        principal=admin.principal, pack_type="domain", domain="D", version="v1", status="ACTIVE"
    )
    TenantActiveConfig.objects.create(
        tenant=tenant_a,
        domain="D",
        domain_pack=pack,
        activated_at="2026-01-01T00:00Z",
        activated_by="t",
        revision=1,
    )
    with pytest.raises(Conflict) as err:
        pack_set_status(
            principal=admin.principal,
            pack_type="domain",
            domain="D",
            version="v1",
            status="DEPRECATED",
        )
    assert err.value.code == "pack_in_use"
    assert "TENANT_A" in err.value.detail
    assert DomainPack.objects.get().status == "ACTIVE"
