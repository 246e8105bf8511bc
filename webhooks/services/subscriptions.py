"""Subscriptions: create (at most WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT per tenant, and as many
platform-wide), change, delete, and resume a paused one."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from onboarding.errors import Conflict, InvalidInput, finding
from tenants.access import require_platform_admin, tenant_for_write
from tenants.principals import Principal
from webhooks import signals, signing_secrets, targets
from webhooks.access import require_webhook_admin, webhook_for_admin
from webhooks.events import EVENT_TYPES
from webhooks.models import DeliveryStatus, Waiting, WebhookDelivery, WebhookSubscription
from webhooks.services.breaker import breaker_reset
from webhooks.services.common import (
    UNSET,
    lock_scope,
    scope_text,
    send_webhook_event,
    webhook_snapshot,
)
from webhooks.services.delivery import wake, wake_scope


@dataclass(frozen=True)
class CreatedWebhook:
    subscription: WebhookSubscription
    secret: str  # shown once, never stored in clear


def webhook_create(
    *,
    principal: Principal,
    url: str,
    events: list[str],
    tenant_id: str | None = None,
    active: bool = True,
) -> CreatedWebhook:
    require_webhook_admin(principal)
    url = _check_url(url)
    events = _check_events(events)
    with transaction.atomic():
        tenant = None
        if tenant_id is None:
            require_platform_admin(principal)
        else:
            tenant = tenant_for_write(principal=principal, tenant_id=tenant_id)
        _check_room(tenant.tenant_id if tenant else None)
        secret = signing_secrets.new_secret()
        subscription = WebhookSubscription.objects.create(
            url=url,
            events=events,
            tenant=tenant,
            active=bool(active),
            secret_encrypted=signing_secrets.encrypt(secret),
            created_by=principal.username,
        )
        send_webhook_event(
            signals.webhook_created,
            actor=principal.username,
            subscription=subscription,
            summary=f"Webhook #{subscription.pk} created for {scope_text(subscription)}",
            details={"after": webhook_snapshot(subscription)},
        )
    return CreatedWebhook(subscription=subscription, secret=secret)


def webhook_update(
    *,
    principal: Principal,
    webhook_id: Any,
    url: str = UNSET,
    events: list[str] = UNSET,
    active: bool = UNSET,
) -> WebhookSubscription:
    changes: dict[str, Any] = {}
    if url is not UNSET:
        changes["url"] = _check_url(url)
    if events is not UNSET:
        changes["events"] = _check_events(events)
    if active is not UNSET:
        changes["active"] = bool(active)
    with transaction.atomic():
        subscription = webhook_for_admin(principal=principal, webhook_id=webhook_id, lock=True)
        before = webhook_snapshot(subscription)
        changes = {k: v for k, v in changes.items() if getattr(subscription, k) != v}
        if not changes:
            return subscription
        for name, value in changes.items():
            setattr(subscription, name, value)
        fields = [*changes, "updated_at"]
        if "url" in changes:
            # Another URL is another receiver: its breaker and lane start afresh.
            subscription.failure_streak, subscription.slow = 0, False
            subscription.paused_at = subscription.paused_until = None
            subscription.pause_reason = ""
            fields += ["failure_streak", "slow", "paused_at", "paused_until", "pause_reason"]
            # Deliveries held by the old URL's pause go out; after the commit, for the locks
            # are taken tenant first, then the row, everywhere else.
            tenant_id = subscription.tenant_id
            transaction.on_commit(lambda: wake_scope(tenant_id))
        subscription.save(update_fields=fields)
        if changes.get("active") is False:
            _cancel_pending(subscription)
        send_webhook_event(
            signals.webhook_updated,
            actor=principal.username,
            subscription=subscription,
            summary=f"Webhook #{subscription.pk} changed: {', '.join(sorted(changes))}",
            details={"before": before, "after": webhook_snapshot(subscription)},
        )
    return subscription


def webhook_delete(*, principal: Principal, webhook_id: Any) -> None:
    """Its deliveries and their attempts go with it; the audit trail keeps the record."""
    with transaction.atomic():
        subscription = webhook_for_admin(principal=principal, webhook_id=webhook_id, lock=True)
        snapshot = webhook_snapshot(subscription)
        send_webhook_event(
            signals.webhook_deleted,
            actor=principal.username,
            subscription=subscription,
            summary=f"Webhook #{subscription.pk} deleted ({scope_text(subscription)})",
            details={"before": snapshot},
        )
        subscription.delete()


def _check_url(url: Any) -> str:
    targets.check_url(url)
    return url


def _check_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        raise InvalidInput(
            "events must be a non-empty list of event types.",
            code="invalid_event_type",
            errors=[
                finding(
                    "invalid_event_type",
                    "/events",
                    "Name at least one event type.",
                    f"One or more of: {', '.join(EVENT_TYPES)}",
                )
            ],
        )
    errors = [
        finding(
            "invalid_event_type",
            f"/events/{index}",
            f"Unknown event type {str(item)[:80]!r}.",
            f"One of: {', '.join(EVENT_TYPES)}",
        )
        for index, item in enumerate(events)
        if not isinstance(item, str) or item not in EVENT_TYPES
    ]
    if errors:
        raise InvalidInput(
            "events names an unknown event type.", code="invalid_event_type", errors=errors[:20]
        )
    return list(dict.fromkeys(events))


def webhook_resume(*, principal: Principal, webhook_id: Any) -> WebhookSubscription:
    """An ADMIN resumes an endpoint its circuit breaker paused: its waiting deliveries go out
    now (409 `webhook_not_paused` when it is not paused)."""
    with transaction.atomic():
        subscription = webhook_for_admin(principal=principal, webhook_id=webhook_id)
        # The tenant's lock before the row's, in the order every delivery takes them.
        lock_scope(subscription.tenant_id)
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.paused_at is None:
            raise Conflict(f"Webhook #{subscription.pk} is not paused.", code="webhook_not_paused")
        now = timezone.now()
        breaker_reset(subscription=subscription, actor=principal.username, now=now)
        wake(subscription.tenant_id, now)
    return subscription


def _check_room(tenant_id: str | None) -> None:
    lock_scope(tenant_id)  # two creations at once cannot both take the last place
    limit = settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT
    scope = Q(tenant_id=tenant_id) if tenant_id else Q(tenant__isnull=True)
    if WebhookSubscription.objects.filter(scope).count() >= limit:
        where = f"tenant {tenant_id}" if tenant_id else "the platform"
        raise Conflict(
            f"{where[0].upper()}{where[1:]} has {limit} webhooks, the most allowed "
            "(WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT); delete one first.",
            code="webhook_limit_reached",
            errors=[finding("webhook_limit_reached", "", f"At most {limit} webhooks per tenant.")],
        )


def _cancel_pending(subscription: WebhookSubscription) -> None:
    """A deactivated webhook sends nothing more: its deliveries not in an attempt now end
    CANCELLED (one in an attempt finishes it, then is cancelled at its next)."""
    now = timezone.now()
    WebhookDelivery.objects.filter(subscription=subscription, status=DeliveryStatus.PENDING).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ).update(
        status=DeliveryStatus.CANCELLED,
        finished_at=now,
        waiting=Waiting.NO,
        last_error="webhook deactivated",
    )
