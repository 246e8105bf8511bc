"""Redelivery: an event sent again to one webhook, on an ADMIN's request (the views limit how
often: onboarding.ratelimit scope `webhook_redeliver`)."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from onboarding.errors import Conflict, NotFound
from tenants.principals import Principal
from webhooks import signals
from webhooks.access import parse_id, webhook_for_admin
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from webhooks.services.common import send_webhook_event
from webhooks.services.delivery import new_delivery


def delivery_redeliver(
    *, principal: Principal, webhook_id: Any, delivery_id: Any
) -> WebhookDelivery:
    """A new delivery of the same event (same `webhook-id`: the receiver may dedupe it) with its
    own attempts; the original keeps its history. One at a time per event and webhook: while a
    delivery of that event to that webhook is pending, 409 `delivery_pending`."""
    with transaction.atomic():
        subscription = webhook_for_admin(principal=principal, webhook_id=webhook_id, lock=True)
        original = _delivery_of(subscription, delivery_id)
        if not subscription.active:
            raise Conflict(
                f"Webhook #{subscription.pk} is inactive; activate it first.",
                code="webhook_inactive",
            )
        pending = WebhookDelivery.objects.filter(
            subscription=subscription, event_id=original.event_id, status=DeliveryStatus.PENDING
        ).first()
        if pending is not None:
            raise Conflict(
                f"Event {original.event_id} is still being delivered to webhook "
                f"#{subscription.pk} (delivery {pending.pk}).",
                code="delivery_pending",
            )
        delivery = new_delivery(
            original.event,
            subscription,
            timezone.now(),
            redelivery_of=original,
            requested_by=principal.username,
        )
        send_webhook_event(
            signals.webhook_redelivered,
            actor=principal.username,
            subscription=subscription,
            summary=f"Event {original.event_id} ({original.event.type}) redelivered to webhook "
            f"#{subscription.pk}",
            details={"event_id": original.event_id, "delivery_id": delivery.pk, "of": original.pk},
        )
    return delivery


def _delivery_of(subscription: WebhookSubscription, delivery_id: Any) -> WebhookDelivery:
    pk = parse_id(delivery_id)
    delivery = (
        WebhookDelivery.objects.select_related("event")
        .filter(pk=pk, subscription=subscription)
        .first()
        if pk is not None
        else None
    )
    if delivery is None:
        raise NotFound(f"Delivery {delivery_id} not found.", code="webhook_delivery_not_found")
    return delivery
