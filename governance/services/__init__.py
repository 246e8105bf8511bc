"""Requests for a change of what a tenant runs, and of who approves it (DESIGN §8, §14):
activation and rollback routed through preview, refusal, approval, scheduling or the apply step
(`runtime_config.services.apply_target`), change requests and their reviews, and the approval
policy's own four-eyes.

Modules, each importing only those listed before it:

- `records`: how a change request is described (snapshot, one-line text).
- `pending`: one PENDING request per tenant (an older one ends STALE `superseded`).
- `reviews`: who may see and review a request, the actions a page offers, the lock, close and
  event every review takes, refused reviews recorded.
- `scheduling`: scheduled activation — `apply_at`, the SCHEDULED state, the worker's task that
  applies a request when it comes due (through `apply_target`), and its recovery.
- `policy`: whether approval applies, and changes of the policy (a tenant's, the global
  setting): a weakening waits for a second ADMIN.
- `change_requests`: the change request's life (create, approve, reject, cancel).
- `previews`: the dry run (outcome, effective-config diff, warnings, decision impact).
- `activation`: `config_activate` and `request_change`, the route every requested change takes.
- `rollback`: `config_rollback`.

Callers import from this package; the names below are its public API."""

from governance.services.activation import config_activate, request_change
from governance.services.change_requests import (
    change_request_approve,
    change_request_cancel,
    change_request_create,
    change_request_reject,
)
from governance.services.policy import (
    SettingsChange,
    TenantChange,
    activation_requires_approval,
    platform_settings_update,
    policy_change_request_create,
    tenant_set_approval_policy,
    tenant_update,
)
from governance.services.previews import (
    activation_preview,
    change_request_review,
    effective_config_diff,
    pair_diff,
    review_computes_impact,
)
from governance.services.records import (
    approvers_text,
    change_request_snapshot,
    pair_text,
    policy_text,
)
from governance.services.reviews import ReviewActions, change_request_actions
from governance.services.rollback import config_rollback
from governance.services.scheduling import (
    change_request_apply_scheduled,
    parse_apply_at,
    scheduled_recover,
)

__all__ = [
    "ReviewActions",
    "SettingsChange",
    "TenantChange",
    "activation_preview",
    "activation_requires_approval",
    "approvers_text",
    "change_request_actions",
    "change_request_apply_scheduled",
    "change_request_approve",
    "change_request_cancel",
    "change_request_create",
    "change_request_reject",
    "change_request_review",
    "change_request_snapshot",
    "config_activate",
    "config_rollback",
    "effective_config_diff",
    "pair_diff",
    "pair_text",
    "parse_apply_at",
    "platform_settings_update",
    "policy_change_request_create",
    "policy_text",
    "request_change",
    "review_computes_impact",
    "scheduled_recover",
    "tenant_set_approval_policy",
    "tenant_update",
]
