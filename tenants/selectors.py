from django.db.models import Q, QuerySet

from onboarding.principal import Principal, require_platform_admin
from tenants.access import tenant_for_read
from tenants.models import PlatformSettings, Tenant
from tenants.policy import platform_settings_row


def tenant_get(*, principal: Principal, tenant_id: str) -> Tenant:
    return tenant_for_read(principal=principal, tenant_id=tenant_id)


def tenant_list(
    *, principal: Principal, status: str | None = None, search: str | None = None
) -> QuerySet[Tenant]:
    queryset = Tenant.objects.all()
    visible = principal.visible_tenant_ids()
    if visible is not None:
        queryset = queryset.filter(tenant_id__in=visible)
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(Q(tenant_id__icontains=search) | Q(name__icontains=search))
    return queryset.order_by("tenant_id")


def platform_settings_get(*, principal: Principal) -> PlatformSettings:
    require_platform_admin(principal)
    return platform_settings_row()
