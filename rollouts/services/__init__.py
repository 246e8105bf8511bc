"""Fleet rollouts (DESIGN §16). Modules, each importing only those listed before it:

- `records`: how a rollout is shown, and its `rollout.*` events;
- `waves`: the state machine the worker runs (steps, wave apply, guards, halt, restore,
  recovery);
- `plan`: checking a plan and creating the rollout (started, awaiting approval, or preview);
- `control`: pause, resume, advance, abort, alarm;
- `approval`: what a decision on the rollout's change request does to it."""

from rollouts.services.approval import rollout_request_approved, rollout_request_ended
from rollouts.services.control import (
    rollout_abort,
    rollout_advance,
    rollout_alarm,
    rollout_pause,
    rollout_resume,
)
from rollouts.services.plan import KIND_ROLLOUT, RolloutOutcome, fleet_impact, rollout_create
from rollouts.services.records import rollout_summary, tenant_data, wave_data
from rollouts.services.waves import rollout_step, rollout_step_task, rollouts_recover

__all__ = [
    "KIND_ROLLOUT",
    "RolloutOutcome",
    "fleet_impact",
    "rollout_abort",
    "rollout_advance",
    "rollout_alarm",
    "rollout_create",
    "rollout_pause",
    "rollout_request_approved",
    "rollout_request_ended",
    "rollout_resume",
    "rollout_step",
    "rollout_step_task",
    "rollout_summary",
    "rollouts_recover",
    "tenant_data",
    "wave_data",
]
