"""What every webhook service shares: the subscription's audit snapshot, the domain event sent
for a change of a subscription, and the lock that serialises decisions about one tenant's
webhook slots and subscription count."""

import hashlib
from typing import Any

from django.db import connection

from onboarding.events import DomainEvent, send_event
from webhooks import signals
from webhooks.models import WebhookSubscription

UNSET: Any = object()
# pg_advisory_xact_lock(namespace, key) namespace of the webhook scopes ("WH").
_LOCK_NAMESPACE = 0x5748

_ACTIONS = {
    signals.webhook_created: "created",
    signals.webhook_updated: "updated",
    signals.webhook_deleted: "deleted",
    signals.webhook_redelivered: "redelivered",
}


def webhook_snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.pk,
        "url": subscription.url,
        "events": list(subscription.events),
        "tenant_id": subscription.tenant_id,
        "active": subscription.active,
    }


def scope_text(subscription: WebhookSubscription) -> str:
    return f"tenant {subscription.tenant_id}" if subscription.tenant_id else "the platform"


def send_webhook_event(
    signal,
    *,
    actor: str,
    subscription: WebhookSubscription,
    summary: str,
    details: dict,
    action: str | None = None,
) -> None:
    """The domain event of a change to a subscription (audit receives it in this transaction).
    `action` names a more precise change than the signal's (`webhook.paused` on
    `webhook_updated`)."""
    send_event(
        signal,
        WebhookSubscription,
        DomainEvent(
            action=action or f"webhook.{_ACTIONS[signal]}",
            actor=actor,
            summary=summary,
            tenant_id=subscription.tenant_id,
            object_type="webhook",
            object_id=str(subscription.pk),
            details=details,
        ),
    )


def lock_scope(tenant_id: str | None) -> None:
    """Inside a transaction: hold, until it ends, the lock of one tenant's webhooks (None: the
    platform's own), under which their in-flight attempts are counted and slots given out, and
    their subscriptions counted. PostgreSQL: an advisory lock per tenant; SQLite: transactions
    begin IMMEDIATE (settings), so the database's write lock already serialises them."""
    if connection.vendor != "postgresql":
        return
    name = f"webhooks:{tenant_id or ''}".encode()
    key = int.from_bytes(hashlib.sha256(name).digest()[:4], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, key])
