"""Rollouts on the home page (issue 23): the rollouts the principal may see that are running,
baking, paused or halted, answered to the kernel's `attention_items` signal (connected in
receivers.connect())."""

from onboarding.attention import AttentionItem
from onboarding.errors import ServiceError
from onboarding.principal import Principal
from rollouts.models import RolloutStatus
from rollouts.selectors import rollout_list, rollouts_counts

SECTION = "Rollouts running or halted"
_LEVELS = {
    RolloutStatus.HALTED: "bad",
    RolloutStatus.PAUSED: "warn",
    RolloutStatus.RUNNING: "info",
    RolloutStatus.BAKING: "info",
}


def rollouts_attention(sender, *, principal: Principal, **kwargs) -> list[AttentionItem]:
    try:
        rows = list(rollout_list(principal=principal).filter(status__in=list(_LEVELS))[:50])
    except ServiceError:  # no role: nothing to show
        return []
    counts_by_rollout = rollouts_counts(rows)
    items = []
    for rollout in rows:
        counts = counts_by_rollout.get(rollout.pk, {})
        parts = [rollout.status.lower()]
        tenants = ", ".join(f"{n} {state.lower()}" for state, n in counts.items() if n)
        parts += [tenants] if tenants else []
        parts += [rollout.status_reason] if rollout.status_reason else []
        detail = " · ".join(parts)
        items.append(
            AttentionItem(
                section=SECTION,
                title=f"{rollout.domain} {rollout.domain_pack.version} by {rollout.created_by}",
                href=f"/admin/rollouts/{rollout.pk}",
                detail=detail,
                level=_LEVELS[rollout.status],
            )
        )
    return items
