"""The circuit breaker of an endpoint, and its lane.

WEBHOOK_BREAKER_THRESHOLD failed attempts in a row pause the endpoint: its deliveries wait
(nothing is sent, no attempt is used up) until `paused_until`, WEBHOOK_BREAKER_COOLDOWN_SECONDS
later; then one probe attempt goes out. A success closes the breaker and the waiting deliveries
follow; a failure pauses the endpoint for another cool-down. An ADMIN may resume it at once
(`webhook_resume`). Pausing and resuming are audit rows (`webhook.paused`, `webhook.resumed`),
and the webhook's page says so.

The lane: an endpoint whose attempt timed out, could not connect or took WEBHOOK_SLOW_SECONDS
is served by the slow lane's loops (queue `webhooks_slow`) until an attempt succeeds quickly."""

from datetime import datetime, timedelta

from django.conf import settings

from webhooks import signals
from webhooks.models import WebhookSubscription
from webhooks.services.common import send_webhook_event
from webhooks.transport import SendResult

SYSTEM_ACTOR = "system"


def is_slow(result: SendResult) -> bool:
    no_answer = result.status_code is None
    return no_answer or result.duration_ms >= settings.WEBHOOK_SLOW_SECONDS * 1000


def breaker_after_attempt(
    *, subscription_id: int, result: SendResult, now: datetime
) -> WebhookSubscription | None:
    """Inside the attempt's record transaction: the endpoint's breaker and lane after this
    attempt (None when the subscription was deleted meanwhile)."""
    subscription = (
        WebhookSubscription.objects.select_for_update(of=("self",))
        .filter(pk=subscription_id)
        .first()
    )
    if subscription is None:
        return None
    subscription.slow = is_slow(result)
    if result.succeeded:
        _close(subscription, now)
    else:
        _count_failure(subscription, result, now)
    subscription.save(
        update_fields=["slow", "failure_streak", "paused_at", "paused_until", "pause_reason"]
    )
    return subscription


def _close(subscription: WebhookSubscription, now: datetime) -> None:
    was_paused_at = subscription.paused_at
    failures = subscription.failure_streak
    subscription.failure_streak = 0
    subscription.paused_at = subscription.paused_until = None
    subscription.pause_reason = ""
    if was_paused_at is not None:
        send_webhook_event(
            signals.webhook_updated,
            actor=SYSTEM_ACTOR,
            subscription=subscription,
            action="webhook.resumed",
            summary=f"Webhook #{subscription.pk} resumed: a probe delivery succeeded",
            details={
                "paused_at": _iso(was_paused_at),
                "paused_for_seconds": round((now - was_paused_at).total_seconds()),
                "failures": failures,
                "by": "probe",
            },
        )


def _count_failure(subscription: WebhookSubscription, result: SendResult, now: datetime) -> None:
    subscription.failure_streak += 1
    if subscription.failure_streak < settings.WEBHOOK_BREAKER_THRESHOLD:
        return
    cooldown = settings.WEBHOOK_BREAKER_COOLDOWN_SECONDS
    opening = subscription.paused_at is None
    subscription.paused_until = now + timedelta(seconds=cooldown)
    subscription.pause_reason = (result.error or f"HTTP {result.status_code}")[:500]
    if not opening:
        return  # a probe failed: paused for another cool-down, said once already
    subscription.paused_at = now
    send_webhook_event(
        signals.webhook_updated,
        actor=SYSTEM_ACTOR,
        subscription=subscription,
        action="webhook.paused",
        summary=(
            f"Webhook #{subscription.pk} paused after {subscription.failure_streak} failed "
            f"attempts in a row; a probe follows in {cooldown:g} s"
        ),
        details={
            "failures": subscription.failure_streak,
            "last_error": subscription.pause_reason,
            "paused_until": _iso(subscription.paused_until),
            "cooldown_seconds": cooldown,
        },
    )


def breaker_reset(*, subscription: WebhookSubscription, actor: str, now: datetime) -> None:
    """An ADMIN resumes a paused endpoint (the caller holds the row and the tenant's lock)."""
    paused_at = subscription.paused_at
    failures = subscription.failure_streak
    subscription.failure_streak = 0
    subscription.paused_at = subscription.paused_until = None
    subscription.pause_reason = ""
    subscription.save(update_fields=["failure_streak", "paused_at", "paused_until", "pause_reason"])
    send_webhook_event(
        signals.webhook_updated,
        actor=actor,
        subscription=subscription,
        action="webhook.resumed",
        summary=f"Webhook #{subscription.pk} resumed by {actor}",
        details={
            "paused_at": _iso(paused_at),
            "paused_for_seconds": round((now - paused_at).total_seconds()) if paused_at else 0,
            "failures": failures,
            "by": "admin",
        },
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
