"""The one access helper per resource: 404 when the principal may not see it, 403 when it may see
it but not change it. Both doors (API and pages) go through here."""

from onboarding.errors import Forbidden, NotFound
from tenants.models import Tenant
from tenants.principals import Principal


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


def require_platform_admin(principal: Principal) -> None:
    if not principal.is_platform_admin:
        raise Forbidden("A platform-wide ADMIN role is required.", code="platform_admin_required")


def require_platform(principal: Principal) -> None:
    if not principal.is_platform:
        raise Forbidden("A platform-wide role is required.", code="platform_role_required")


def require_any_role(principal: Principal) -> None:
    if not principal.has_any_role:
        raise Forbidden("No role is bound to this user.", code="no_role")
