"""What a decision on a rollout's change request (`kind: rollout`) does to the rollout; the
answers to governance's hooks (connected in rollouts.receivers)."""

from typing import Any

from django.utils import timezone

from onboarding.principal import Principal
from rollouts.models import Rollout, RolloutStatus
from rollouts.services.plan import fleet_impact
from rollouts.services.records import rollout_event
from rollouts.services.waves import enqueue_step, finish
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from runtime_config.services.batch import attach_packs


def _locked_of(change_request: ConfigChangeRequest) -> Rollout | None:
    return (
        Rollout.objects.select_for_update(of=("self",))
        .select_related("domain_pack")
        .filter(change_request=change_request)
        .first()
    )


def rollout_request_approved(
    *, change_request: ConfigChangeRequest, principal: Principal, **kwargs: Any
) -> None:
    """Inside the approval's transaction: the rollout starts, acting as its approver."""
    rollout = _locked_of(change_request)
    if rollout is None or rollout.status != RolloutStatus.PENDING_APPROVAL:
        return
    rollout.status = RolloutStatus.RUNNING
    rollout.acting_as = principal.username
    rollout.next_wave_at = timezone.now()
    rollout.save(update_fields=["status", "acting_as", "next_wave_at", "updated_at"])
    rollout_event(rollout, "started", principal.username, f"approved by {principal.username}")
    enqueue_step(rollout)


def rollout_request_ended(
    *, change_request: ConfigChangeRequest, principal: Principal, **kwargs: Any
) -> None:
    """Rejected or cancelled: the rollout ends CANCELLED, nothing moved."""
    rollout = _locked_of(change_request)
    if rollout is None or rollout.status != RolloutStatus.PENDING_APPROVAL:
        return
    rollout.status_reason = f"change request {change_request.status.lower()}"
    finish(rollout, RolloutStatus.CANCELLED, principal.username, rollout.status_reason)


def rollout_request_impact(*, change_request: ConfigChangeRequest, **kwargs: Any) -> dict | None:
    rollout = Rollout.objects.select_related("domain_pack").filter(change_request=change_request)
    rollout = rollout.first()
    if rollout is None:
        return None
    configs = {
        config.tenant_id: config
        for config in TenantActiveConfig.objects.filter(
            tenant_id__in=rollout.tenants.values("tenant_id")
        ).order_by("tenant_id")
    }
    attach_packs(configs.values())  # each pack row read once, not once per tenant
    return fleet_impact(rollout.domain_pack, configs)
