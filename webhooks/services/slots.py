"""Fairness between endpoints and tenants: how many attempts run at once, and which waiting
delivery gets a task when a slot frees.

An attempt holds a slot while its lease runs (`lease_until` in the future). One endpoint has at
most WEBHOOK_ENDPOINT_MAX_IN_FLIGHT attempts running (one while its circuit breaker probes), one
tenant at most WEBHOOK_TENANT_MAX_IN_FLIGHT over all its endpoints (the platform's own
subscriptions form one more scope). A due delivery that finds no slot does not hold a worker
loop nor a task: it waits (`waiting` says for what) and the attempt that frees a slot gives the
oldest waiting delivery of its tenant a task; the worker's periodic sweep does the same for
anything left (a breaker's cool-down that ended, a wake-up lost to a crash). Every decision is
taken under the tenant's lock (common.lock_scope), so two workers never both take the last
slot."""

from datetime import datetime

from django.conf import settings
from django.db.models import Min, Q, QuerySet

from webhooks.models import DeliveryStatus, Waiting, WebhookDelivery, WebhookSubscription


def scope_of(tenant_id: str | None) -> Q:
    return (
        Q(subscription__tenant_id=tenant_id) if tenant_id else Q(subscription__tenant__isnull=True)
    )


def in_flight(now: datetime) -> QuerySet[WebhookDelivery]:
    """Attempts running now (their lease has not run out)."""
    return WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, lease_until__gt=now)


def queued(now: datetime) -> QuerySet[WebhookDelivery]:
    """Due deliveries whose task is waiting for a worker loop: each will take a slot soon."""
    return WebhookDelivery.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now),
        status=DeliveryStatus.PENDING,
        waiting=Waiting.NO,
        task_id__isnull=False,
        next_attempt_at__lte=now,
    )


def endpoint_cap(subscription: WebhookSubscription) -> int:
    # A breaker whose cool-down ended lets one probe through, whatever the setting.
    return 1 if subscription.paused_until is not None else settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT


def paused(subscription: WebhookSubscription, now: datetime) -> bool:
    return subscription.paused_until is not None and subscription.paused_until > now


def blocked_by(subscription: WebhookSubscription, now: datetime) -> str:
    """Why an attempt of this endpoint may not start now (a Waiting value; "" when it may)."""
    if paused(subscription, now):
        return Waiting.PAUSED
    running = in_flight(now)
    if running.filter(subscription_id=subscription.pk).count() >= endpoint_cap(subscription):
        return Waiting.ENDPOINT
    if running.filter(scope_of(subscription.tenant_id)).count() >= (
        settings.WEBHOOK_TENANT_MAX_IN_FLIGHT
    ):
        return Waiting.TENANT
    return Waiting.NO


def wait_at_creation(subscription: WebhookSubscription, now: datetime) -> str:
    """Whether a new delivery should wait rather than get a task: its endpoint is paused, or
    already has as many attempts running or queued as it may run. (A burst of events for one
    busy endpoint then queues no tasks that other tenants' deliveries would wait behind.)"""
    if paused(subscription, now):
        return Waiting.PAUSED
    busy = in_flight(now).filter(subscription_id=subscription.pk).count()
    busy += queued(now).filter(subscription_id=subscription.pk).count()
    return Waiting.ENDPOINT if busy >= endpoint_cap(subscription) else Waiting.NO


def waiting_due(now: datetime) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(
        Q(subscription__paused_until__isnull=True) | Q(subscription__paused_until__lte=now),
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        subscription__active=True,
    ).exclude(waiting=Waiting.NO)


def to_wake(tenant_id: str | None, now: datetime) -> list[WebhookDelivery]:
    """Under the tenant's lock: the waiting deliveries that may have a task now, oldest first,
    as many as the tenant and each endpoint have room for."""
    scope = scope_of(tenant_id)
    room = settings.WEBHOOK_TENANT_MAX_IN_FLIGHT
    room -= in_flight(now).filter(scope).count() + queued(now).filter(scope).count()
    if room <= 0:
        return []
    waiting = waiting_due(now).filter(scope)
    heads = (
        waiting.values("subscription_id")
        .annotate(first=Min("next_attempt_at"))
        .order_by("first", "subscription_id")[:20]
    )
    chosen: list[WebhookDelivery] = []
    for head in heads:
        subscription = WebhookSubscription.objects.get(pk=head["subscription_id"])
        free = endpoint_cap(subscription)
        free -= in_flight(now).filter(subscription_id=subscription.pk).count()
        free -= queued(now).filter(subscription_id=subscription.pk).count()
        take = min(free, room - len(chosen))
        if take > 0:
            chosen += waiting.filter(subscription_id=subscription.pk).order_by(
                "next_attempt_at", "id"
            )[:take]
        if len(chosen) >= room:
            break
    return chosen


def scopes_waiting(now: datetime, limit: int = 100) -> list[str | None]:
    """Tenants (None: the platform) with due waiting deliveries, for the periodic sweep."""
    return list(
        waiting_due(now)
        .order_by()
        .values_list("subscription__tenant_id", flat=True)
        .distinct()[:limit]
    )
