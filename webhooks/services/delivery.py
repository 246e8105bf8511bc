"""Delivery, in the worker: one task (django-tasks, database backend) per attempt.

`deliver_webhook` runs `delivery_attempt`, which takes a slot for the delivery under its
tenant's lock (webhooks.services.slots: or leaves it waiting when its endpoint or tenant has no
room, or its breaker is open), claims it with a lease, sends outside any transaction with a hard
deadline (WEBHOOK_ATTEMPT_TIMEOUT, well inside the lease), then records the attempt, moves the
breaker (webhooks.services.breaker) and ends the delivery or schedules its next attempt with
exponential backoff, and gives the slot it frees to the oldest waiting delivery of the tenant.

Only the task a delivery names (`task_id`) may attempt it: a stale duplicate finds another id
and stops. Endpoints that time out or answer slowly are served by the slow lane's loops (queue
`webhooks_slow`), so they never hold the loops the others use."""

import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import TaskContext, task

from onboarding.errors import InvalidInput
from onboarding.redaction import redact_url
from webhooks import signing_secrets, targets, transport
from webhooks.messages import event_body, signature_headers
from webhooks.models import (
    DeliveryStatus,
    Waiting,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from webhooks.services import slots
from webhooks.services.breaker import breaker_after_attempt
from webhooks.services.common import lock_scope

logger = logging.getLogger("webhooks.delivery")
QUEUE = "webhooks"
SLOW_QUEUE = "webhooks_slow"


@task(queue_name=QUEUE, takes_context=True)
def deliver_webhook(context: TaskContext, delivery_id: int) -> str:
    """The task that makes one attempt of one delivery (queue `webhooks` or `webhooks_slow`)."""
    result = context.task_result
    worker_ids = result.worker_ids
    return delivery_attempt(
        delivery_id=delivery_id,
        worker_id=worker_ids[-1] if worker_ids else "",
        task_id=result.id,
    )


def enqueue(delivery_id: int, when: datetime, *, slow: bool = False) -> str:
    queued = deliver_webhook.using(queue_name=SLOW_QUEUE if slow else QUEUE)
    if when > timezone.now():
        queued = queued.using(run_after=when)
    return queued.enqueue(delivery_id).id


def retry_delay(attempt: int) -> timedelta:
    """Delay after failed attempt number `attempt` (1-based): base * 3^(attempt-1), capped,
    with ±20 % jitter so that a receiver coming back is not hit by every retry at once."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    seconds = min(base * 3 ** (attempt - 1), settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


# ---------------------------------------------------------------------------------------------
# A new delivery, and waking waiting ones


def new_delivery(
    outbox: WebhookEvent,
    subscription: WebhookSubscription,
    now: datetime,
    *,
    redelivery_of: WebhookDelivery | None = None,
    requested_by: str = "",
) -> WebhookDelivery:
    """Inside the caller's transaction: the delivery, with a task, or waiting when its endpoint
    is paused or already busy (then, after the commit, its tenant's slots are looked at again:
    the attempt that was running may have ended meanwhile)."""
    delivery = WebhookDelivery.objects.create(
        event=outbox,
        subscription=subscription,
        next_attempt_at=now,
        created_at=now,
        redelivery_of=redelivery_of,
        requested_by=requested_by,
        waiting=slots.wait_at_creation(subscription, now),
    )
    if delivery.waiting:
        tenant_id = subscription.tenant_id
        transaction.on_commit(lambda: wake_scope(tenant_id))
    else:
        delivery.task_id = enqueue(delivery.pk, now, slow=subscription.slow)
        delivery.save(update_fields=["task_id"])
    return delivery


def new_deliveries(
    pairs: list[tuple[WebhookEvent, WebhookSubscription]], now: datetime
) -> list[WebhookDelivery]:
    """Inside the caller's transaction: one delivery per (event, subscription), as `new_delivery`
    would make them one after the other, with a handful of statements for the lot (a rollout's
    wave sends a thousand events to each subscriber). Per subscription its pause and its busy
    count are read once; as many deliveries get a task as its endpoint has room for, in order,
    and the rest wait; one wake per tenant after the commit."""
    room: dict[int, int] = {}
    for subscription in {sub.pk: sub for _, sub in pairs}.values():
        if slots.paused(subscription, now):
            continue
        busy = slots.in_flight(now).filter(subscription_id=subscription.pk).count()
        busy += slots.queued(now).filter(subscription_id=subscription.pk).count()
        room[subscription.pk] = slots.endpoint_cap(subscription) - busy
    deliveries = []
    for outbox, subscription in pairs:
        if subscription.pk not in room:
            waiting = Waiting.PAUSED
        elif room[subscription.pk] > 0:
            waiting, room[subscription.pk] = Waiting.NO, room[subscription.pk] - 1
        else:
            waiting = Waiting.ENDPOINT
        deliveries.append(
            WebhookDelivery(
                event=outbox,
                subscription=subscription,
                next_attempt_at=now,
                created_at=now,
                waiting=waiting,
            )
        )
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    for delivery in deliveries:
        if delivery.waiting == Waiting.NO:
            delivery.task_id = enqueue(delivery.pk, now, slow=delivery.subscription.slow)
            delivery.save(update_fields=["task_id"])
    for tenant_id in {d.subscription.tenant_id for d in deliveries if d.waiting != Waiting.NO}:
        transaction.on_commit(lambda tenant_id=tenant_id: wake_scope(tenant_id))
    return deliveries


def wake(tenant_id: str | None, now: datetime) -> int:
    """Under the tenant's lock: give tasks to the waiting deliveries that have room now."""
    woken = 0
    for delivery in slots.to_wake(tenant_id, now):
        moved = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.PENDING, task_id=delivery.task_id
        ).update(
            waiting=Waiting.NO,
            task_id=enqueue(delivery.pk, now, slow=delivery.subscription.slow),
        )
        woken += moved
    return woken


def wake_scope(tenant_id: str | None) -> int:
    with transaction.atomic():
        lock_scope(tenant_id)
        return wake(tenant_id, timezone.now())


# ---------------------------------------------------------------------------------------------
# One attempt


def delivery_attempt(*, delivery_id: int, worker_id: str, task_id=None) -> str:
    """One attempt of one delivery, by the task `task_id` (None: whichever), then, while the
    endpoint answers and for at most WEBHOOK_CHAIN_SECONDS, attempts of its next waiting
    deliveries: the slot passes straight on, with no task to queue and claim in between; then
    the loop goes back to the queue. Returns what happened (the task's result)."""
    claimed = _claim(delivery_id, worker_id, task_id)
    if isinstance(claimed, str):
        return claimed
    chain_until = time.monotonic() + settings.WEBHOOK_CHAIN_SECONDS
    outcomes: list[str] = []
    while claimed is not None:
        started = timezone.now()
        result = _send_once(claimed, started)
        chain = result.succeeded and time.monotonic() < chain_until
        outcomes.append("delivered" if result.succeeded else "failed")
        claimed = _record(claimed, worker_id, started, result, chain=chain)
    if len(outcomes) == 1:
        return outcomes[0]
    return f"{outcomes.count('delivered')} delivered, {outcomes.count('failed')} failed"


def _claim(delivery_id: int, worker_id: str, task_id) -> WebhookDelivery | str:
    with transaction.atomic():
        now = timezone.now()
        delivery = (
            WebhookDelivery.objects.select_related("event", "subscription")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None or not _may_attempt(delivery, task_id, now):
            return "skipped"  # done, not due, running elsewhere, or another task's to make
        subscription = delivery.subscription
        if not subscription.active:
            _finish(delivery, None, status=DeliveryStatus.CANCELLED, last_error="webhook inactive")
            return "cancelled"
        lock_scope(subscription.tenant_id)
        subscription.refresh_from_db(fields=["paused_until", "paused_at", "slow"])
        mine = WebhookDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, task_id=delivery.task_id
        )
        reason = slots.blocked_by(subscription, now)
        if reason:
            mine.update(waiting=reason, task_id=None)
            return f"waiting ({reason})"
        lease = timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
        claimed = mine.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(
            lease_until=now + lease,
            leased_by=worker_id,
            attempt_count=F("attempt_count") + 1,
            waiting=Waiting.NO,
        )
        if not claimed:
            return "skipped"
        delivery.refresh_from_db(fields=["attempt_count", "lease_until", "leased_by"])
        return delivery


def _may_attempt(delivery: WebhookDelivery, task_id, now: datetime) -> bool:
    if task_id is not None and str(delivery.task_id) != str(task_id):
        return False
    running = delivery.lease_until is not None and delivery.lease_until >= now
    return not running and delivery.next_attempt_at <= now


def _send_once(delivery: WebhookDelivery, at: datetime) -> transport.SendResult:
    try:
        target = targets.check_url(delivery.subscription.url)
        secret = signing_secrets.decrypt(delivery.subscription.secret_encrypted)
    except (InvalidInput, signing_secrets.SecretUnreadable) as exc:
        detail = getattr(exc, "errors", None) and exc.errors[0].get("message")
        return transport.SendResult(None, 0, error=f"refused: {detail or exc}")
    body = event_body(delivery.event)
    headers = signature_headers(secret, delivery.event_id, body, at)
    return transport.post(target, body, headers)


def _record(
    delivery: WebhookDelivery,
    worker_id: str,
    started: datetime,
    result: transport.SendResult,
    *,
    chain: bool = False,
) -> WebhookDelivery | None:
    """Record the attempt, end the delivery or schedule its retry, move the breaker, and pass the
    freed slot on: to the endpoint's next waiting delivery, leased to this worker and returned
    (when `chain`), else to the tenant's oldest waiting delivery (a task)."""
    number = delivery.attempt_count
    if not result.succeeded:
        logger.info(
            "webhook #%s delivery %s attempt %s to %s failed: %s",
            delivery.subscription_id,
            delivery.pk,
            number,
            redact_url(delivery.subscription.url),
            result.error or f"HTTP {result.status_code}",
        )
    with transaction.atomic():
        now = timezone.now()
        lock_scope(delivery.subscription.tenant_id)
        _save_attempt(delivery, number, worker_id, started, result)
        subscription = breaker_after_attempt(
            subscription_id=delivery.subscription_id, result=result, now=now
        )
        fields = {"last_status_code": result.status_code, "last_error": result.error}
        if result.succeeded:
            _finish(delivery, worker_id, status=DeliveryStatus.DELIVERED, **fields)
        elif number >= settings.WEBHOOK_MAX_ATTEMPTS:
            _finish(delivery, worker_id, status=DeliveryStatus.FAILED, **fields)
        else:
            slow = subscription.slow if subscription is not None else False
            _schedule_retry(delivery, worker_id, number, slow=slow, **fields)
        if subscription is None:
            return None
        following = _next_of_endpoint(subscription, worker_id, now) if chain else None
        if (
            following is None
            and slots.waiting_due(now).filter(slots.scope_of(subscription.tenant_id)).exists()
        ):
            wake(subscription.tenant_id, now)
        return following


def _next_of_endpoint(
    subscription: WebhookSubscription, worker_id: str, now: datetime
) -> WebhookDelivery | None:
    """Under the tenant's lock: the endpoint's oldest waiting delivery, leased to this worker,
    when the endpoint and the tenant have room for it."""
    if subscription.paused_at is not None or not subscription.active:
        return None
    if slots.blocked_by(subscription, now):
        return None
    following = (
        slots.waiting_due(now)
        .filter(subscription_id=subscription.pk)
        .order_by("next_attempt_at", "id")
        .first()
    )
    if following is None:
        return None
    lease = timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    taken = WebhookDelivery.objects.filter(
        pk=following.pk, status=DeliveryStatus.PENDING, task_id=following.task_id
    ).update(
        waiting=Waiting.NO,
        task_id=None,
        lease_until=now + lease,
        leased_by=worker_id,
        attempt_count=F("attempt_count") + 1,
    )
    if not taken:
        return None
    return WebhookDelivery.objects.select_related("event", "subscription").get(pk=following.pk)


def _save_attempt(delivery, number: int, worker_id: str, started, result) -> None:
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


def _owned(delivery: WebhookDelivery, worker_id: str | None):
    # A worker whose lease ran out (and was handed over) must not move the delivery any more.
    owned = WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING)
    return owned if worker_id is None else owned.filter(leased_by=worker_id)


def _finish(delivery, worker_id: str | None, *, status: str, **fields) -> None:
    _owned(delivery, worker_id).update(
        status=status,
        finished_at=timezone.now(),
        lease_until=None,
        leased_by="",
        waiting=Waiting.NO,
        **fields,
    )


def _schedule_retry(delivery, worker_id: str, number: int, *, slow: bool, **fields) -> None:
    when = timezone.now() + retry_delay(number)
    moved = _owned(delivery, worker_id).update(
        next_attempt_at=when, lease_until=None, leased_by="", **fields
    )
    if moved:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            task_id=enqueue(delivery.pk, when, slow=slow)
        )
