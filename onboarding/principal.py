"""Who is acting (DESIGN §4): the `Principal` value every service, selector and view receives,
the role checks that need nothing but it, and the principal of a request — the same for the API
and the page door.

The kernel knows the shape of a principal, not where roles are stored: the app that owns role
bindings registers, in its AppConfig.ready, the builder that turns a user into a Principal
(`set_principal_builder`; today `tenants.principals.principal_from_bindings`)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from onboarding.errors import Forbidden, NotAuthenticated


class Role(models.TextChoices):
    ADMIN = "ADMIN"
    VIEWER = "VIEWER"


@dataclass(frozen=True)
class Principal:
    username: str
    platform_role: str | None = None  # ADMIN, VIEWER or None
    tenant_roles: Mapping[str, str] = field(default_factory=dict)
    # X-Tenant-ID of the request: narrows what a platform principal lists.
    context_tenant: str | None = None

    @classmethod
    def from_user(cls, user: Any, *, context_tenant: str | None = None) -> "Principal":
        """The principal of a user, built by the registered builder (see the module doc)."""
        return principal_for_user(user, context_tenant=context_tenant)

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


PrincipalBuilder = Callable[..., Principal]
_builder: list[PrincipalBuilder] = []


def set_principal_builder(builder: PrincipalBuilder) -> None:
    """Called once, from the AppConfig.ready of the app that owns role bindings: `builder(user,
    *, context_tenant)` returns the user's Principal."""
    _builder[:] = [builder]


def principal_for_user(user: Any, *, context_tenant: str | None = None) -> Principal:
    if not _builder:
        raise ImproperlyConfigured("No app registered a principal builder (set_principal_builder).")
    return _builder[0](user, context_tenant=context_tenant)


def require_platform_admin(principal: Principal) -> None:
    if not principal.is_platform_admin:
        raise Forbidden("A platform-wide ADMIN role is required.", code="platform_admin_required")


def require_platform(principal: Principal) -> None:
    if not principal.is_platform:
        raise Forbidden("A platform-wide role is required.", code="platform_role_required")


def require_any_role(principal: Principal) -> None:
    if not principal.has_any_role:
        raise Forbidden("No role is bound to this user.", code="no_role")


def principal_for_request(request) -> Principal:
    cached = getattr(request, "_principal", None)
    if cached is not None:
        return cached
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise NotAuthenticated("Authentication credentials were not provided.")
    context = request.headers.get("X-Tenant-ID") or None
    principal = principal_for_user(user)
    # What the request's credential allows, when it narrows the user's roles (a read-only or
    # runtime token): set by the authentication that accepted it.
    narrow = getattr(request, "principal_scope", None)
    if narrow is not None:
        principal = narrow(principal)
    if context is not None:
        if not principal.is_platform and context not in principal.tenant_roles:
            raise Forbidden(
                f"X-Tenant-ID {context!r} is not a tenant of this principal.",
                code="tenant_context_mismatch",
            )
        principal = Principal(
            username=principal.username,
            platform_role=principal.platform_role,
            tenant_roles=principal.tenant_roles,
            context_tenant=context,
        )
    request._principal = principal
    return principal
