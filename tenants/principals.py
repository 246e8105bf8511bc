"""Who is acting, and what they may see and change (DESIGN §4)."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from tenants.models import Role


@dataclass(frozen=True)
class Principal:
    username: str
    platform_role: str | None = None  # ADMIN, VIEWER or None
    tenant_roles: Mapping[str, str] = field(default_factory=dict)
    # X-Tenant-ID of the request: narrows what a platform principal lists.
    context_tenant: str | None = None

    @classmethod
    def from_user(cls, user, *, context_tenant: str | None = None) -> "Principal":
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
        return cls(
            username=user.get_username(),
            platform_role=platform_role,
            tenant_roles=tenant_roles,
            context_tenant=context_tenant,
        )

    @classmethod
    def system(cls, username: str = "system") -> "Principal":
        """A platform ADMIN for management commands and the demo seed."""
        return cls(username=username, platform_role=Role.ADMIN)

    @property
    def is_platform(self) -> bool:
        return self.platform_role is not None

    @property
    def is_platform_admin(self) -> bool:
        return self.platform_role == Role.ADMIN

    @property
    def has_any_role(self) -> bool:
        return self.is_platform or bool(self.tenant_roles)

    @property
    def is_admin_anywhere(self) -> bool:
        return self.is_platform_admin or Role.ADMIN in self.tenant_roles.values()

    def can_read_tenant(self, tenant_id: str) -> bool:
        return self.is_platform or tenant_id in self.tenant_roles

    def can_write_tenant(self, tenant_id: str) -> bool:
        return self.is_platform_admin or self.tenant_roles.get(tenant_id) == Role.ADMIN

    def visible_tenant_ids(self) -> list[str] | None:
        """Tenants a list may show: None means every tenant."""
        if self.context_tenant:
            return [self.context_tenant]
        if self.is_platform:
            return None
        return sorted(self.tenant_roles)
