"""What a tenant runs, and the one step that changes it (DESIGN §8). Requests for a change —
activation, rollback, approval, scheduling — are governance's (governance/services/); every one
of them ends in `apply_target` here.

Modules, each importing only those listed before it:

- `targets`: the requested pair (`Target`), the outcome, the current configuration, snapshots.
- `compatibility`: every blocking problem of a target (suspension, revision, a pack failing its
  checksum, deprecation, pack compatibility, playbook links).
- `apply`: `apply_target`, the one transaction step that moves the active-config pointers.
- `batch`: `apply_targets`, the same step for many tenants in one transaction (a rollout's wave).

Callers import from this package; the names below are its public API."""

from runtime_config.services.apply import apply_target, lock_config, locked_target
from runtime_config.services.batch import BatchOutcome, apply_targets, attach_packs
from runtime_config.services.compatibility import (
    blocking_problems,
    compatibility_errors,
    deprecated_findings,
    link_findings,
    revision_conflict,
)
from runtime_config.services.targets import (
    KIND_ACCESS,
    KIND_ACTIVATE,
    KIND_POLICY,
    KIND_ROLLBACK,
    KIND_ROLLOUT,
    ActivationOutcome,
    Target,
    config_snapshot,
    current_config,
    resolve_target,
)

__all__ = [
    "KIND_ACCESS",
    "KIND_ACTIVATE",
    "KIND_POLICY",
    "KIND_ROLLBACK",
    "KIND_ROLLOUT",
    "ActivationOutcome",
    "BatchOutcome",
    "Target",
    "apply_target",
    "apply_targets",
    "attach_packs",
    "blocking_problems",
    "compatibility_errors",
    "config_snapshot",
    "current_config",
    "deprecated_findings",
    "link_findings",
    "lock_config",
    "locked_target",
    "resolve_target",
    "revision_conflict",
]
