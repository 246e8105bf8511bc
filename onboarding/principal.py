"""The acting principal of a request, the same for the API and the page door."""

from onboarding.errors import Forbidden, NotAuthenticated
from tenants.principals import Principal


def principal_for_request(request) -> Principal:
    cached = getattr(request, "_principal", None)
    if cached is not None:
        return cached
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise NotAuthenticated("Authentication credentials were not provided.")
    context = request.headers.get("X-Tenant-ID") or None
    principal = Principal.from_user(user)
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
