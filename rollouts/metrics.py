"""rollouts' part of the metrics (onboarding.metrics, docs/operability.md), read from the database
at scrape time: `onboarding_rollouts{status}`, rollouts by state."""

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from onboarding import metrics
from rollouts.models import Rollout, RolloutStatus


def rollout_families():
    by_status = dict.fromkeys(RolloutStatus.values, 0)
    for status, count in Rollout.objects.order_by().values_list("status").annotate(n=Count("id")):
        by_status[status] = count
    family = GaugeMetricFamily(
        f"{metrics.PREFIX}_rollouts", "Progressive rollouts by state.", labels=["status"]
    )
    for status, count in sorted(by_status.items()):
        family.add_metric([status], count)
    yield family


def connect() -> None:
    metrics.register_scrape_collector("rollouts.states", rollout_families)
