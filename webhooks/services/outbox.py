"""The transactional outbox: the event and its deliveries, written beside the audit row."""

import json

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import jsonable
from onboarding.events import DomainEvent, defer
from onboarding.redaction import redact
from webhooks.events import event_data, event_type_for
from webhooks.models import WebhookEvent, WebhookSubscription
from webhooks.services.delivery import new_deliveries


def outbox_record(event: DomainEvent) -> WebhookEvent | None:
    """Inside the sender's transaction: the event and one delivery (with its first task, or
    waiting for a slot) per active subscription that wants it. Nothing is written when nobody
    subscribed. Inside `batched_writes`: written with the rest of the batch when the block ends
    (and None is returned)."""
    if event_type_for(event) is None or defer("webhooks", _record_events, event):
        return None
    return _record_events([event])[0]


def _record_events(events: list[DomainEvent]) -> list[WebhookEvent | None]:
    """One query for the subscriptions of every event's scope, one INSERT for the events."""
    typed = [(event, event_type_for(event)) for event in events]
    tenant_ids = {event.tenant_id for event, _ in typed if event.tenant_id}
    subscriptions = list(
        WebhookSubscription.objects.filter(
            Q(tenant__isnull=True) | Q(tenant_id__in=tenant_ids), active=True
        ).only("pk", "events", "tenant_id", "paused_until", "slow")
    )
    now = timezone.now()
    written: list[WebhookEvent | None] = []
    deliveries: list[tuple[WebhookEvent, list[WebhookSubscription]]] = []
    for event, event_type in typed:
        wanted = [
            subscription
            for subscription in subscriptions
            if event_type in subscription.events
            and subscription.tenant_id in (None, event.tenant_id or None)
        ]
        if event_type is None or not wanted:
            written.append(None)
            continue
        # Receivers get the same redacted details as the audit trail (onboarding.redaction).
        details = redact(jsonable(dict(event.details or {})))
        size = len(json.dumps(details, separators=(",", ":")))
        outbox = WebhookEvent(
            type=event_type,
            occurred_at=now,
            tenant_id=event.tenant_id or None,
            data=event_data(event, details, size),
        )
        written.append(outbox)
        deliveries.append((outbox, wanted))
    with transaction.atomic(savepoint=False):
        WebhookEvent.objects.bulk_create([outbox for outbox, _ in deliveries], batch_size=1000)
        new_deliveries(
            [(outbox, subscription) for outbox, wanted in deliveries for subscription in wanted],
            now,
        )
    return written
