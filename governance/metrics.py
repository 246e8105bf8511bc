"""governance's part of the metrics (onboarding.metrics, docs/operability.md), connected in
GovernanceConfig.ready: `onboarding_change_requests_total{outcome}`, one per change request
transition, counted when its transaction commits."""

from functools import partial

from django.db import transaction

from governance import signals
from onboarding import metrics

OUTCOMES = {
    "requested": signals.config_activation_requested,
    "approved": signals.change_request_approved,
    "rejected": signals.change_request_rejected,
    "cancelled": signals.change_request_cancelled,
    "stale": signals.change_request_stale,
    "scheduled": signals.change_request_scheduled,
    "applied": signals.change_request_applied,
    "refused": signals.change_request_review_refused,
}


def count_change_request(sender, outcome: str, **kwargs) -> None:
    transaction.on_commit(metrics.CHANGE_REQUESTS.labels(outcome=outcome).inc)


def connect() -> None:
    for outcome, signal in OUTCOMES.items():
        signal.connect(
            partial(count_change_request, outcome=outcome),
            dispatch_uid=f"governance.metrics.{outcome}",
            weak=False,
        )
