"""webhooks' part of the metrics (onboarding.metrics, docs/operability.md), read from the
database at scrape time (the worker processes that deliver need no metrics files of their own):

- `onboarding_webhook_deliveries{status}`: deliveries by outcome (PENDING, DELIVERED, FAILED,
  CANCELLED);
- `onboarding_webhook_queue_depth`: deliveries waiting for an attempt (PENDING);
- `onboarding_webhook_oldest_pending_age_seconds`: how long the oldest of them has waited (0
  when none waits)."""

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from onboarding import metrics
from webhooks.models import DeliveryStatus, WebhookDelivery


def delivery_families():
    by_status = dict.fromkeys(DeliveryStatus.values, 0)
    for status, count in (
        WebhookDelivery.objects.order_by().values_list("status").annotate(count=Count("id"))
    ):
        by_status[status] = count
    oldest = (
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .order_by()
        .aggregate(oldest=Min("created_at"))["oldest"]
    )
    deliveries = GaugeMetricFamily(
        f"{metrics.PREFIX}_webhook_deliveries",
        "Webhook deliveries by status (outcome).",
        labels=["status"],
    )
    for status, count in sorted(by_status.items()):
        deliveries.add_metric([status], count)
    yield deliveries
    yield GaugeMetricFamily(
        f"{metrics.PREFIX}_webhook_queue_depth",
        "Webhook deliveries waiting for an attempt (PENDING).",
        value=by_status[DeliveryStatus.PENDING],
    )
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    yield GaugeMetricFamily(
        f"{metrics.PREFIX}_webhook_oldest_pending_age_seconds",
        "Seconds the oldest PENDING webhook delivery has waited (0 when none waits).",
        value=max(age, 0.0),
    )


def connect() -> None:
    metrics.register_scrape_collector("webhooks.deliveries", delivery_families)
