"""How rollouts answers the apps below it (docs/architecture.md, "Hooks and signals across
layers"), connected in RolloutsConfig.ready: governance's hooks on a `kind: rollout` change
request (approved: start; rejected or cancelled: end; reviewed: the fleet's impact); and the
kernel's `attention_items` for the home page (rollouts running or halted)."""

from governance import hooks
from onboarding.attention import attention_items
from rollouts.attention import rollouts_attention
from rollouts.services.approval import (
    rollout_request_approved,
    rollout_request_ended,
    rollout_request_impact,
)


def connect() -> None:
    hooks.rollout_approved.answer(rollout_request_approved)
    hooks.rollout_request_ended.answer(rollout_request_ended)
    hooks.rollout_impact.answer(rollout_request_impact)
    # The home page's "Rollouts running or halted" (onboarding.attention).
    attention_items.connect(rollouts_attention, dispatch_uid="rollouts.attention")
