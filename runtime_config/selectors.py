from runtime_config.models import TenantActiveConfig
from tenants.access import tenant_for_read
from tenants.principals import Principal


def active_config_get(*, principal: Principal, tenant_id: str) -> TenantActiveConfig | None:
    """`get_active_config` of the specification: None when the tenant has none yet."""
    tenant_for_read(principal=principal, tenant_id=tenant_id)
    return (
        TenantActiveConfig.objects.select_related("domain_pack", "tenant_pack")
        .defer("domain_pack__content_json", "tenant_pack__content_json")
        .filter(tenant_id=tenant_id)
        .first()
    )
