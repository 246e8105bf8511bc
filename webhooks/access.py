"""Who may see and manage webhook subscriptions (DESIGN §14): platform ADMINs all of them, a
tenant ADMIN those of its tenants. A URL can carry a receiver's token in its query, so VIEWERs
see none. A subscription outside the principal's tenants answers 404, like a missing one."""

from onboarding.errors import Forbidden, NotFound
from tenants.principals import Principal
from webhooks.models import WebhookSubscription


def require_webhook_admin(principal: Principal) -> None:
    if not principal.is_admin_anywhere:
        raise Forbidden(
            "Webhooks are managed by ADMINs (platform-wide, or of the webhook's tenant).",
            code="admin_required",
        )


def parse_id(value) -> int | None:
    """A row id from a path; None for anything else (text, 0, beyond 64 bits): it names
    nothing."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 19 or not 0 < int(text) < 2**63:
        return None
    return int(text)


def webhook_not_found(webhook_id) -> NotFound:
    return NotFound(f"Webhook {webhook_id} not found.", code="webhook_not_found")


def managed_tenant_ids(principal: Principal) -> list[str] | None:
    """Tenants whose webhooks the principal manages: None means all (and platform-wide ones)."""
    if principal.is_platform_admin:
        return [principal.context_tenant] if principal.context_tenant else None
    return sorted(t for t in principal.tenant_roles if principal.can_write_tenant(t))


def may_manage(principal: Principal, subscription: WebhookSubscription) -> bool:
    if subscription.tenant_id is None:
        return principal.is_platform_admin
    return principal.can_write_tenant(subscription.tenant_id)


def webhook_for_admin(
    *, principal: Principal, webhook_id, lock: bool = False
) -> WebhookSubscription:
    require_webhook_admin(principal)
    queryset = WebhookSubscription.objects.select_related("tenant")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    pk = parse_id(webhook_id)
    try:
        if pk is None:
            raise WebhookSubscription.DoesNotExist
        subscription = queryset.get(pk=pk)
    except WebhookSubscription.DoesNotExist:
        raise webhook_not_found(webhook_id) from None
    if not may_manage(principal, subscription):
        if subscription.tenant_id is not None and principal.can_read_tenant(subscription.tenant_id):
            raise Forbidden(
                f"ADMIN role on tenant {subscription.tenant_id!r} required.",
                code="admin_required",
            )
        raise webhook_not_found(webhook_id)
    return subscription
