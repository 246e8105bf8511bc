"""Every state change of webhooks: subscriptions, the outbox, and delivery.

The outbox row (`webhook_events`) and its deliveries are written by `outbox_record`, called by
the receiver next to audit's inside the sender's transaction, together with the task
(django-tasks, database backend) that will make the first attempt: an event whose transaction
rolls back leaves nothing behind to send. `delivery_attempt` runs in the worker: it claims the
delivery with a lease, sends outside any transaction, then records the attempt and either ends
the delivery or schedules the next attempt with exponential backoff. `outbox_recover` hands
deliveries whose worker died (lease run out) to another worker."""

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django_tasks import TaskContext, task
from standardwebhooks.webhooks import Webhook

from audit.services import jsonable
from onboarding.errors import Conflict, InvalidInput, NotFound, finding
from onboarding.events import DomainEvent, send_event
from onboarding.redaction import redact
from tenants.access import require_platform_admin, tenant_for_write
from tenants.principals import Principal
from webhooks import signals, signing_secrets, targets, transport
from webhooks.access import parse_id, require_webhook_admin, webhook_for_admin
from webhooks.events import EVENT_TYPES, event_data, event_type_for
from webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

UNSET: Any = object()


# ---------------------------------------------------------------------------------------------
# Subscriptions


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
        secret = signing_secrets.new_secret()
        subscription = WebhookSubscription.objects.create(
            url=url,
            events=events,
            tenant=tenant,
            active=bool(active),
            secret_encrypted=signing_secrets.encrypt(secret),
            created_by=principal.username,
        )
        _send(
            signals.webhook_created,
            principal,
            subscription,
            f"Webhook #{subscription.pk} created for {_scope_text(subscription)}",
            {"after": webhook_snapshot(subscription)},
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
        subscription.save(update_fields=[*changes, "updated_at"])
        _send(
            signals.webhook_updated,
            principal,
            subscription,
            f"Webhook #{subscription.pk} changed: {', '.join(sorted(changes))}",
            {"before": before, "after": webhook_snapshot(subscription)},
        )
    return subscription


def webhook_delete(*, principal: Principal, webhook_id: Any) -> None:
    """Its deliveries and their attempts go with it; the audit trail keeps the record."""
    with transaction.atomic():
        subscription = webhook_for_admin(principal=principal, webhook_id=webhook_id, lock=True)
        snapshot = webhook_snapshot(subscription)
        _send(
            signals.webhook_deleted,
            principal,
            subscription,
            f"Webhook #{subscription.pk} deleted ({_scope_text(subscription)})",
            {"before": snapshot},
        )
        subscription.delete()


def webhook_snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.pk,
        "url": subscription.url,
        "events": list(subscription.events),
        "tenant_id": subscription.tenant_id,
        "active": subscription.active,
    }


def _scope_text(subscription: WebhookSubscription) -> str:
    return f"tenant {subscription.tenant_id}" if subscription.tenant_id else "the platform"


def _send(signal, principal: Principal, subscription, summary: str, details: dict) -> None:
    send_event(
        signal,
        WebhookSubscription,
        DomainEvent(
            action=f"webhook.{signal_action(signal)}",
            actor=principal.username,
            summary=summary,
            tenant_id=subscription.tenant_id,
            object_type="webhook",
            object_id=str(subscription.pk),
            details=details,
        ),
    )


def signal_action(signal) -> str:
    return {
        signals.webhook_created: "created",
        signals.webhook_updated: "updated",
        signals.webhook_deleted: "deleted",
        signals.webhook_redelivered: "redelivered",
    }[signal]


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


# ---------------------------------------------------------------------------------------------
# The outbox


def outbox_record(event: DomainEvent) -> WebhookEvent | None:
    """Inside the sender's transaction: the event and one delivery (with its first task) per
    active subscription that wants it. Nothing is written when nobody subscribed."""
    event_type = event_type_for(event)
    if event_type is None:
        return None
    scope = Q(tenant__isnull=True)
    if event.tenant_id:
        scope |= Q(tenant_id=event.tenant_id)
    wanted = [
        pk
        for pk, types in WebhookSubscription.objects.filter(scope, active=True).values_list(
            "pk", "events"
        )
        if event_type in types
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
        for subscription_id in wanted:
            _new_delivery(outbox, subscription_id, now)
    return outbox


def _new_delivery(
    outbox: WebhookEvent,
    subscription_id: int,
    now: datetime,
    *,
    redelivery_of: WebhookDelivery | None = None,
    requested_by: str = "",
) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        event=outbox,
        subscription_id=subscription_id,
        next_attempt_at=now,
        created_at=now,
        redelivery_of=redelivery_of,
        requested_by=requested_by,
    )
    delivery.task_id = _enqueue(delivery.pk, now)
    delivery.save(update_fields=["task_id"])
    return delivery


def _enqueue(delivery_id: int, when: datetime) -> str:
    task = deliver_webhook if when <= timezone.now() else deliver_webhook.using(run_after=when)
    return task.enqueue(delivery_id).id


def event_body(outbox: WebhookEvent) -> bytes:
    """The exact bytes sent (and signed): `{id, type, occurred_at, tenant_id, data}`."""
    payload = {
        "id": outbox.id,
        "type": outbox.type,
        "occurred_at": outbox.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "tenant_id": outbox.tenant_id,
        "data": outbox.data,
    }
    # ASCII only: any character (a lone surrogate in a user's comment included) travels escaped.
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("ascii")


def signature_headers(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers, signed by the `standardwebhooks` library."""
    at = at.astimezone(UTC).replace(microsecond=0)
    signature = Webhook(secret).sign(message_id, at, body.decode("utf-8"))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


# ---------------------------------------------------------------------------------------------
# Delivery (in the worker)


def retry_delay(attempt: int) -> timedelta:
    """Delay after failed attempt number `attempt` (1-based): base * 3^(attempt-1), capped,
    with ±20 % jitter so that a receiver coming back is not hit by every retry at once."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    seconds = min(base * 3 ** (attempt - 1), settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


@task(queue_name="webhooks", takes_context=True)
def deliver_webhook(context: TaskContext, delivery_id: int) -> str:
    """The task (django-tasks, queue `webhooks`) that makes one attempt of one delivery."""
    worker_ids = context.task_result.worker_ids
    return delivery_attempt(delivery_id=delivery_id, worker_id=worker_ids[-1] if worker_ids else "")


def delivery_attempt(*, delivery_id: int, worker_id: str) -> str:
    """One attempt of one delivery. Returns what happened (for the task result)."""
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(
            lease_until=now + lease,
            leased_by=worker_id,
            attempt_count=F("attempt_count") + 1,
        )
    )
    if not claimed:
        return "skipped"  # delivered, cancelled, not due yet, or another worker holds it
    delivery = WebhookDelivery.objects.select_related("event", "subscription").get(pk=delivery_id)
    if not delivery.subscription.active:
        _finish(delivery, worker_id, status=DeliveryStatus.CANCELLED, last_error="webhook inactive")
        return "cancelled"
    started = timezone.now()
    result = _send_once(delivery, started)
    _record(delivery, worker_id, started, result)
    return "delivered" if result.succeeded else "failed"


def _send_once(delivery: WebhookDelivery, at: datetime) -> transport.SendResult:
    try:
        target = targets.check_url(delivery.subscription.url)
        secret = signing_secrets.decrypt(delivery.subscription.secret_encrypted)
    except (InvalidInput, signing_secrets.SecretUnreadable) as exc:
        return transport.SendResult(None, 0, error=f"refused: {getattr(exc, 'detail', exc)}")
    body = event_body(delivery.event)
    headers = signature_headers(secret, delivery.event_id, body, at)
    return transport.post(target, body, headers)


def _record(
    delivery: WebhookDelivery, worker_id: str, started: datetime, result: transport.SendResult
) -> None:
    number = delivery.attempt_count
    with transaction.atomic():
        attempt = WebhookAttempt(
            delivery=delivery,
            number=number,
            started_at=started,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            succeeded=result.succeeded,
            error=result.error,
            response_excerpt=result.excerpt,
            remote_ip=result.remote_ip,
            worker_id=worker_id,
        )
        # One statement; it replaces the "worker lost" row recovery may have written for this
        # number if this worker was only slow, not dead.
        WebhookAttempt.objects.bulk_create(
            [attempt],
            update_conflicts=True,
            unique_fields=["delivery", "number"],
            update_fields=[*_ATTEMPT_RESULT_FIELDS],
        )
        fields = {"last_status_code": result.status_code, "last_error": result.error}
        if result.succeeded:
            _finish(delivery, worker_id, status=DeliveryStatus.DELIVERED, **fields)
        elif number >= settings.WEBHOOK_MAX_ATTEMPTS:
            _finish(delivery, worker_id, status=DeliveryStatus.FAILED, **fields)
        else:
            _schedule_retry(delivery, worker_id, number, **fields)


_ATTEMPT_RESULT_FIELDS = (
    "started_at",
    "duration_ms",
    "status_code",
    "succeeded",
    "error",
    "response_excerpt",
    "remote_ip",
    "worker_id",
)


def _owned(delivery: WebhookDelivery, worker_id: str):
    # A worker whose lease ran out (and was handed over) must not move the delivery any more.
    return WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, leased_by=worker_id
    )


def _finish(delivery, worker_id: str, *, status: str, **fields) -> None:
    _owned(delivery, worker_id).update(
        status=status, finished_at=timezone.now(), lease_until=None, leased_by="", **fields
    )


def _schedule_retry(delivery, worker_id: str, number: int, **fields) -> None:
    when = timezone.now() + retry_delay(number)
    with transaction.atomic():
        moved = _owned(delivery, worker_id).update(
            next_attempt_at=when, lease_until=None, leased_by="", **fields
        )
        if moved:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                task_id=_enqueue(delivery.pk, when)
            )


# ---------------------------------------------------------------------------------------------
# Recovery (in the worker, periodically)


def outbox_recover(*, now: datetime | None = None) -> int:
    """Hand over the deliveries no live worker will make: a lease that ran out (its worker died
    mid-attempt) or a due delivery whose task is gone. Safe to run from many workers at once:
    each hand-over is a conditional update that only one of them wins."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    live_task = DBTaskResult.objects.filter(pk=OuterRef("task_id")).filter(
        Q(status="READY") | Q(status="RUNNING", started_at__gt=now - lease)
    )
    stranded = (
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(
            Q(lease_until__lt=now)
            | (Q(lease_until__isnull=True, next_attempt_at__lt=now - lease) & ~Exists(live_task))
        )
        .values_list("pk", "lease_until", "task_id")[:500]
    )
    recovered = 0
    for pk, lease_until, task_id in stranded:
        recovered += _hand_over(pk, lease_until, task_id, now)
    return recovered


def _hand_over(pk: int, lease_until, task_id, now: datetime) -> int:
    with transaction.atomic():
        won = WebhookDelivery.objects.filter(
            pk=pk, status=DeliveryStatus.PENDING, lease_until=lease_until, task_id=task_id
        ).update(lease_until=None, leased_by="", next_attempt_at=now)
        if not won:
            return 0
        delivery = WebhookDelivery.objects.get(pk=pk)
        if lease_until is not None:
            # The attempt the dead worker was making: it may or may not have reached the
            # receiver (at-least-once), and it counts.
            WebhookAttempt.objects.get_or_create(
                delivery=delivery,
                number=delivery.attempt_count,
                defaults={
                    "started_at": lease_until - timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS),
                    "error": "worker lost during the attempt (lease ran out)",
                },
            )
            _fail_lost_task(task_id)
        if delivery.attempt_count >= settings.WEBHOOK_MAX_ATTEMPTS:
            WebhookDelivery.objects.filter(pk=pk).update(
                status=DeliveryStatus.FAILED,
                finished_at=now,
                last_error="worker lost during the last attempt",
            )
        else:
            WebhookDelivery.objects.filter(pk=pk).update(task_id=_enqueue(pk, now))
    return 1


class WorkerLost(Exception):
    """Recorded on a task whose worker died while running it."""


def _fail_lost_task(task_id) -> None:
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.filter(pk=task_id, status="RUNNING").first() if task_id else None
    if task is not None:
        task.set_failed(WorkerLost("the worker running this task stopped (lease ran out)"))


# ---------------------------------------------------------------------------------------------
# Redelivery


def delivery_redeliver(
    *, principal: Principal, webhook_id: Any, delivery_id: Any
) -> WebhookDelivery:
    """A new delivery of the same event (same `webhook-id`: the receiver may dedupe it) with its
    own attempts; the original keeps its history."""
    with transaction.atomic():
        subscription = webhook_for_admin(principal=principal, webhook_id=webhook_id, lock=True)
        original = _delivery_of(subscription, delivery_id)
        if not subscription.active:
            raise Conflict(
                f"Webhook #{subscription.pk} is inactive; activate it first.",
                code="webhook_inactive",
            )
        if original.status == DeliveryStatus.PENDING:
            raise Conflict(
                f"Delivery {original.pk} is still being attempted.",
                code="delivery_pending",
            )
        now = timezone.now()
        delivery = _new_delivery(
            original.event,
            subscription.pk,
            now,
            redelivery_of=original,
            requested_by=principal.username,
        )
        _send(
            signals.webhook_redelivered,
            principal,
            subscription,
            f"Event {original.event_id} ({original.event.type}) redelivered to webhook "
            f"#{subscription.pk}",
            {"event_id": original.event_id, "delivery_id": delivery.pk, "of": original.pk},
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
