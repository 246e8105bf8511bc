"""Recovery, run by every worker every WORKER_RECOVERY_INTERVAL (onboarding.worker): deliveries
no live worker will make are handed over, and waiting deliveries that have room get a task.
Safe from many workers at once: each hand-over is a conditional update only one of them wins,
and waking happens under the tenant's lock."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from webhooks.models import DeliveryStatus, Waiting, WebhookAttempt, WebhookDelivery
from webhooks.services import slots
from webhooks.services.delivery import enqueue, wake_scope

logger = logging.getLogger("webhooks.recovery")


class WorkerLost(Exception):
    """Recorded on a task whose worker died while running it."""


def outbox_recover(*, now: datetime | None = None) -> int:
    """Hand over the deliveries whose lease ran out (the worker died mid-attempt: the attempt
    can never outlive its lease, WEBHOOK_ATTEMPT_TIMEOUT being under half of it) or whose task
    is gone, then wake waiting deliveries that have room (a breaker's cool-down ended, a wake-up
    was lost: routine, logged at INFO). Returns how many deliveries it handed over."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    live_task = DBTaskResult.objects.filter(pk=OuterRef("task_id")).filter(
        Q(status="READY") | Q(status="RUNNING", started_at__gt=now - lease)
    )
    lost_task = Q(lease_until__isnull=True, waiting=Waiting.NO, next_attempt_at__lt=now - lease)
    stranded = (
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(lease_until__lt=now) | (lost_task & ~Exists(live_task)))
        .values_list("pk", "lease_until", "task_id")[:500]
    )
    moved = sum(_hand_over(pk, lease_until, task_id, now) for pk, lease_until, task_id in stranded)
    woken = sum(wake_scope(tenant_id) for tenant_id in slots.scopes_waiting(now))
    if woken:
        logger.info("woke %d waiting webhook deliveries", woken)
    return moved


def _hand_over(pk: int, lease_until, task_id, now: datetime) -> int:
    with transaction.atomic():
        won = WebhookDelivery.objects.filter(
            pk=pk, status=DeliveryStatus.PENDING, lease_until=lease_until, task_id=task_id
        ).update(lease_until=None, leased_by="", next_attempt_at=now)
        if not won:
            return 0
        delivery = WebhookDelivery.objects.select_related("subscription").get(pk=pk)
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
            WebhookDelivery.objects.filter(pk=pk).update(
                task_id=enqueue(pk, now, slow=delivery.subscription.slow)
            )
    return 1


def _fail_lost_task(task_id) -> None:
    task = DBTaskResult.objects.filter(pk=task_id, status="RUNNING").first() if task_id else None
    if task is not None:
        task.set_failed(WorkerLost("the worker running this task stopped (lease ran out)"))
