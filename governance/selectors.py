"""Reads of change requests, scoped by the acting principal."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from onboarding.errors import NotFound
from onboarding.principal import Principal, require_any_role
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest


def change_request_get(*, principal: Principal, change_request_id) -> ConfigChangeRequest:
    """One change request of a tenant the principal may read; 404 `change_request_not_found`
    for any other (whether it exists or not)."""
    missing = NotFound(
        f"Change request {change_request_id} not found.", code="change_request_not_found"
    )
    require_any_role(principal)
    try:
        change_request = ConfigChangeRequest.objects.select_related(
            "domain_pack", "tenant_pack"
        ).get(pk=change_request_id)
    except (ConfigChangeRequest.DoesNotExist, ValueError, TypeError, ValidationError):
        raise missing from None
    if not principal.can_read_tenant(change_request.tenant_id):
        raise missing
    return change_request


def change_request_list(
    *, principal: Principal, status: str | None = None, tenant_id: str | None = None
) -> QuerySet[ConfigChangeRequest]:
    """Change requests the principal may see, newest first; a tenant it may not see lists none."""
    require_any_role(principal)
    queryset = ConfigChangeRequest.objects.select_related("domain_pack", "tenant_pack").defer(
        "domain_pack__content_json", "tenant_pack__content_json"
    )
    visible = principal.visible_tenant_ids()
    if visible is not None:
        queryset = queryset.filter(tenant_id__in=visible)
    if tenant_id:
        queryset = queryset.filter(tenant_id=tenant_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-requested_at", "-pk")


def open_requests_naming(pack) -> list[tuple]:
    """(id, tenant id, status) of the requests still PENDING or SCHEDULED that name `pack` (a
    DomainPack or TenantPack row), oldest first. Unscoped: the caller decides what to show."""
    field = "tenant_pack" if pack.pack_type == "tenant" else "domain_pack"
    return list(
        ConfigChangeRequest.objects.filter(
            **{field: pack},
            status__in=(ChangeRequestStatus.PENDING, ChangeRequestStatus.SCHEDULED),
        )
        .order_by("requested_at")
        .values_list("pk", "tenant_id", "status")
    )
