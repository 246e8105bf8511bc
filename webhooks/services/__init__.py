"""Every state change of webhooks (DESIGN §14): subscriptions, the outbox, delivery.

Modules, each importing only those listed before it:

- `common`: the subscription's snapshot, its domain events, the per-tenant lock.
- `slots`: fairness — attempts running per endpoint and per tenant, who waits, who is woken.
- `breaker`: the circuit breaker of an endpoint (pause, probe, resume) and its lane.
- `delivery`: the worker's task, one attempt (claim, send with a hard deadline, record, retry),
  a new delivery, waking waiting ones.
- `outbox`: the event and its deliveries, written in the sender's transaction.
- `recovery`: work whose worker died, and waiting deliveries nobody woke.
- `subscriptions`: create (capped per tenant), change, delete, resume.
- `redelivery`: an event sent again on request.

Callers import from this package; the names below are its public API. (Task rows written before
the split name `webhooks.services.deliver_webhook`: the name still resolves.)"""

from webhooks.messages import event_body, signature_headers
from webhooks.services.common import webhook_snapshot
from webhooks.services.delivery import (
    deliver_webhook,
    delivery_attempt,
    enqueue,
    retry_delay,
    wake_scope,
)
from webhooks.services.outbox import outbox_record
from webhooks.services.recovery import WorkerLost, outbox_recover
from webhooks.services.redelivery import delivery_redeliver
from webhooks.services.subscriptions import (
    CreatedWebhook,
    webhook_create,
    webhook_delete,
    webhook_resume,
    webhook_update,
)

__all__ = [
    "CreatedWebhook",
    "WorkerLost",
    "deliver_webhook",
    "delivery_attempt",
    "delivery_redeliver",
    "enqueue",
    "event_body",
    "outbox_record",
    "outbox_recover",
    "retry_delay",
    "signature_headers",
    "wake_scope",
    "webhook_create",
    "webhook_delete",
    "webhook_resume",
    "webhook_snapshot",
    "webhook_update",
]
