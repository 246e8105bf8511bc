"""Questions governance asks the app above it (docs/architecture.md, "Hooks and signals across
layers"): a change request of `kind: rollout` approves a whole fleet rollout (DESIGN §16), which
only the rollouts app can start, end or size up."""

from typing import Any

from onboarding.errors import Conflict
from onboarding.hooks import Hook


def _no_rollouts(**kwargs: Any) -> None:
    raise Conflict("Rollouts are not installed.", code="rollouts_unavailable")


# Inside the approval's transaction, the request locked and APPLIED: start the rollout.
rollout_approved = Hook("rollout_approved", default=_no_rollouts)
# Inside the transaction that rejected or cancelled the request: end the rollout CANCELLED.
rollout_request_ended = Hook("rollout_request_ended", default=lambda **kwargs: None)
# What the reviewer sees: the decision impact summed over the rollout's tenants.
rollout_impact = Hook("rollout_impact", default=lambda **kwargs: None)
