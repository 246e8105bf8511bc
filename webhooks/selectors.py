"""Reads of webhooks, scoped by the acting principal (webhooks.access)."""

from django.db.models import Prefetch, QuerySet

from tenants.principals import Principal
from webhooks.access import managed_tenant_ids, require_webhook_admin, webhook_for_admin
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


def webhook_list(
    *, principal: Principal, tenant_id: str | None = None, active: bool | None = None
) -> QuerySet[WebhookSubscription]:
    """The subscriptions the principal manages (a tenant ADMIN: its tenants' ones only)."""
    require_webhook_admin(principal)
    queryset = WebhookSubscription.objects.all()
    managed = managed_tenant_ids(principal)
    if managed is not None:
        queryset = queryset.filter(tenant_id__in=managed)
    if tenant_id:
        queryset = queryset.filter(tenant_id=tenant_id)
    if active is not None:
        queryset = queryset.filter(active=active)
    return queryset.order_by("id")


def webhook_get(*, principal: Principal, webhook_id) -> WebhookSubscription:
    return webhook_for_admin(principal=principal, webhook_id=webhook_id)


def delivery_list(
    *, principal: Principal, webhook_id, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    """One subscription's deliveries, newest first, each with every attempt."""
    subscription = webhook_for_admin(principal=principal, webhook_id=webhook_id)
    queryset = (
        WebhookDelivery.objects.filter(subscription=subscription)
        .select_related("event")
        .prefetch_related(Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number")))
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")
