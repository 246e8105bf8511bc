"""Activation, rollback and approval of a tenant's configuration (DESIGN §6, §8).

Modules, each importing only those listed before it:

- `targets`: the requested pair (`Target`), the outcome, the current configuration, snapshots.
- `compatibility`: every blocking problem of a target (suspension, revision, a pack failing its
  checksum, deprecation, pack compatibility, playbook links).
- `apply`: `apply_target`, the one transaction step that moves the active-config pointers; every
  activation, rollback and approval ends there.
- `records`: how a change request is described (snapshot, one-line text).
- `scheduling`: scheduled activation — `apply_at`, the SCHEDULED state, the worker's task that
  applies a request when it comes due (through `apply_target`), and its recovery.
- `pending`: one PENDING request per tenant (an older one ends STALE `superseded`).
- `change_requests`: the approval policy and the change request's life (create, approve,
  reject, cancel; a policy-weakening request; refused reviews recorded).
- `previews`: the dry run (outcome, effective-config diff, warnings).
- `activation`: `config_activate` and `request_change`, the route every requested change takes.
- `rollback`: `config_rollback`.

Callers import from this package; the names below are its public API."""

from runtime_config.services.activation import config_activate, request_change
from runtime_config.services.apply import apply_target, lock_config
from runtime_config.services.change_requests import (
    activation_requires_approval,
    change_request_actions,
    change_request_approve,
    change_request_cancel,
    change_request_create,
    change_request_reject,
    change_request_snapshot,
    policy_change_request_create,
)
from runtime_config.services.compatibility import (
    blocking_problems,
    compatibility_errors,
    revision_conflict,
)
from runtime_config.services.previews import (
    activation_preview,
    change_request_review,
    effective_config_diff,
    pair_diff,
)
from runtime_config.services.rollback import config_rollback
from runtime_config.services.scheduling import (
    change_request_apply_scheduled,
    parse_apply_at,
    scheduled_recover,
)
from runtime_config.services.targets import (
    KIND_ACTIVATE,
    KIND_POLICY,
    KIND_ROLLBACK,
    ActivationOutcome,
    Target,
    config_snapshot,
    current_config,
    resolve_target,
)

__all__ = [
    "KIND_ACTIVATE",
    "KIND_POLICY",
    "KIND_ROLLBACK",
    "ActivationOutcome",
    "Target",
    "activation_preview",
    "activation_requires_approval",
    "apply_target",
    "blocking_problems",
    "change_request_actions",
    "change_request_apply_scheduled",
    "change_request_approve",
    "change_request_cancel",
    "change_request_create",
    "change_request_reject",
    "change_request_review",
    "change_request_snapshot",
    "compatibility_errors",
    "config_activate",
    "config_rollback",
    "config_snapshot",
    "current_config",
    "effective_config_diff",
    "lock_config",
    "pair_diff",
    "parse_apply_at",
    "policy_change_request_create",
    "request_change",
    "resolve_target",
    "revision_conflict",
    "scheduled_recover",
]
