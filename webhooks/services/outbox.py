"""The transactional outbox: the event and its deliveries, written beside the audit row."""

import json

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import jsonable
from onboarding.events import DomainEvent
from onboarding.redaction import redact
from webhooks.events import event_data, event_type_for
from webhooks.models import WebhookEvent, WebhookSubscription
from webhooks.services.delivery import new_delivery


def outbox_record(event: DomainEvent) -> WebhookEvent | None:
    """Inside the sender's transaction: the event and one delivery (with its first task, or
    waiting for a slot) per active subscription that wants it. Nothing is written when nobody
    subscribed."""
    event_type = event_type_for(event)
    if event_type is None:
        return None
    scope = Q(tenant__isnull=True)
    if event.tenant_id:
        scope |= Q(tenant_id=event.tenant_id)
    wanted = [
        subscription
        for subscription in WebhookSubscription.objects.filter(scope, active=True).only(
            "pk", "events", "tenant_id", "paused_until", "slow"
        )
        if event_type in subscription.events
    ]
    if not wanted:
        return None
    # Receivers get the same redacted details as the audit trail (onboarding.redaction).
    details = redact(jsonable(dict(event.details or {})))
    size = len(json.dumps(details, separators=(",", ":")))
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        outbox = WebhookEvent.objects.create(
            type=event_type,
            occurred_at=now,
            tenant_id=event.tenant_id or None,
            data=event_data(event, details, size),
        )
        for subscription in wanted:
            new_delivery(outbox, subscription, now)
    return outbox
