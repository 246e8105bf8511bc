"""A user's Principal from its role bindings (DESIGN §4). The value type lives in the kernel
(`onboarding.principal`); tenants owns the bindings, so it registers this builder in
TenantsConfig.ready."""

from onboarding.principal import Principal, Role


def principal_from_bindings(user, *, context_tenant: str | None = None) -> Principal:
    platform_role = None
    tenant_roles: dict[str, str] = {}
    for binding in user.role_bindings.all():
        if binding.tenant_id is None:
            if platform_role != Role.ADMIN:
                platform_role = binding.role
        else:
            tenant_roles[binding.tenant_id] = binding.role
    if user.is_superuser:
        platform_role = Role.ADMIN
    return Principal(
        username=user.get_username(),
        platform_role=platform_role,
        tenant_roles=tenant_roles,
        context_tenant=context_tenant,
    )
