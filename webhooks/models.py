"""Webhook subscriptions and the transactional outbox (DESIGN §14 *Webhooks*).

An event is written to `webhook_events` in the transaction of the change (next to its audit row),
with one `webhook_deliveries` row per matching subscription; the worker sends each delivery and
keeps every attempt in `webhook_delivery_attempts`."""

import uuid

from django.db import models


def new_event_id() -> str:
    # Standard Webhooks' `webhook-id`: unique per message, the same on every retry of it.
    return f"msg_{uuid.uuid4().hex}"


class WebhookSubscription(models.Model):
    url = models.CharField(max_length=2048)
    events = models.JSONField(default=list)
    # Null: a platform subscription (every tenant's events and platform-wide ones).
    tenant = models.ForeignKey(
        "tenants.Tenant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
    )
    active = models.BooleanField(default=True)
    # The circuit breaker (webhooks.services.breaker): consecutive failed attempts; past
    # WEBHOOK_BREAKER_THRESHOLD the endpoint is paused until `paused_until`, then one probe
    # attempt decides (a success closes it, a failure pauses it again).
    failure_streak = models.PositiveIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True, default="")
    # Its attempts run in the slow lane (queue `webhooks_slow`, loops of their own) since one
    # timed out, failed to connect or took WEBHOOK_SLOW_SECONDS; a quick success moves it back.
    slow = models.BooleanField(default=False)
    # A Fernet token (webhooks.signing_secrets), never the secret itself.
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "webhook_subscriptions"
        ordering = ["id"]
        indexes = [models.Index(fields=["active", "tenant"], name="webhook_sub_active_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.url}"


class WebhookEvent(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    tenant_id = models.CharField(max_length=64, null=True, blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        db_table = "webhook_events"
        indexes = [models.Index(fields=["occurred_at"], name="webhook_event_time_idx")]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING"  # waiting for its next attempt (or in one)
    DELIVERED = "DELIVERED"  # a 2xx answer
    FAILED = "FAILED"  # every attempt failed
    CANCELLED = "CANCELLED"  # the subscription was switched off before it went out


class Waiting(models.TextChoices):
    """Why a due PENDING delivery has no task: it waits for a slot, and the attempt that frees one
    (or the worker's periodic sweep) gives it a task (webhooks.services.slots)."""

    NO = ""
    ENDPOINT = "endpoint"  # its endpoint has WEBHOOK_ENDPOINT_MAX_IN_FLIGHT attempts running
    TENANT = "tenant"  # its tenant has WEBHOOK_TENANT_MAX_IN_FLIGHT attempts running
    PAUSED = "paused"  # its endpoint's circuit breaker is open


class WebhookDelivery(models.Model):
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A worker owns the delivery while lease_until is in the future; a lease that ran out means
    # the worker died, and the delivery is handed to another (at-least-once).
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=128, blank=True, default="")
    # The task (django-tasks) that will make the next attempt; only that task may make it.
    task_id = models.UUIDField(null=True, blank=True)
    waiting = models.CharField(max_length=16, blank=True, default="", choices=Waiting.choices)
    redelivery_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["subscription", "created_at"], name="webhook_dlv_sub_time_idx"),
            models.Index(fields=["status", "lease_until"], name="webhook_dlv_status_lease_idx"),
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="PENDING") & ~models.Q(waiting=""),
                name="webhook_dlv_waiting_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values),
                name="webhook_dlv_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_id} → {self.subscription_id} {self.status}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")
    remote_ip = models.CharField(max_length=45, blank=True, default="")
    worker_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        db_table = "webhook_delivery_attempts"
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_unique")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number} {self.status_code or self.error[:40]}"
