"""The one access helper per resource: 404 when the principal may not see it, 403 when it may see
it but not change it. Both doors (API and pages) go through here."""

from onboarding.errors import Forbidden, NotFound
from onboarding.principal import (
    Principal,
    require_any_role,
    require_platform,
    require_platform_admin,
)
from tenants.models import Tenant

# The role checks that need nothing but the principal live in the kernel; callers that know this
# module as the access helper keep finding them here.
__all__ = [
    "require_any_role",
    "require_platform",
    "require_platform_admin",
    "tenant_for_read",
    "tenant_for_write",
    "tenant_not_found",
    "tenants_for_write",
]


def tenant_not_found(tenant_id: str) -> NotFound:
    return NotFound(f"Tenant {tenant_id!r} not found.", code="tenant_not_found")


def tenant_for_read(*, principal: Principal, tenant_id: str, lock: bool = False) -> Tenant:
    if not principal.can_read_tenant(tenant_id):
        raise tenant_not_found(tenant_id)
    queryset = Tenant.objects.select_for_update() if lock else Tenant.objects
    try:
        return queryset.get(tenant_id=tenant_id)
    except (Tenant.DoesNotExist, ValueError, TypeError):
        raise tenant_not_found(tenant_id) from None


def tenant_for_write(*, principal: Principal, tenant_id: str, lock: bool = False) -> Tenant:
    tenant = tenant_for_read(principal=principal, tenant_id=tenant_id, lock=lock)
    if not principal.can_write_tenant(tenant_id):
        raise Forbidden(f"ADMIN role on tenant {tenant_id!r} required.", code="admin_required")
    return tenant


def tenants_for_write(*, principal: Principal, tenant_ids: list[str]) -> None:
    """`tenant_for_write` for each of `tenant_ids`, in order, with one query for all of them (a
    rollout plan names up to tens of thousands): the first refused answers 404 or 403."""
    existing = set(
        Tenant.objects.filter(tenant_id__in=set(tenant_ids)).values_list("tenant_id", flat=True)
    )
    for tenant_id in tenant_ids:
        if tenant_id not in existing or not principal.can_read_tenant(tenant_id):
            raise tenant_not_found(tenant_id)
        if not principal.can_write_tenant(tenant_id):
            raise Forbidden(f"ADMIN role on tenant {tenant_id!r} required.", code="admin_required")
