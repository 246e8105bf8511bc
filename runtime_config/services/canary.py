"""Writes of a rollout's canary inside tenants (DESIGN §16; the rollouts app calls these inside
its own transaction, which also carries the rollout's audit events). Each change reaches every
serving process like an activation: `<tenant>:<revision>` on commit."""

from uuid import UUID

from packs.models import DomainPack
from runtime_config.models import TenantActiveConfig, TenantCanary
from runtime_config.push import bump_generation_on_commit_many


def _publish(tenant_ids: list[str]) -> None:
    revisions = dict(
        TenantActiveConfig.objects.filter(tenant_id__in=tenant_ids).values_list(
            "tenant_id", "revision"
        )
    )
    bump_generation_on_commit_many(
        [f"{tenant_id}:{revisions.get(tenant_id, 0)}" for tenant_id in sorted(tenant_ids)]
    )


def canaries_set(
    *,
    rollout_id: UUID | str,
    domain_pack: DomainPack,
    percent: int,
    shadow: bool,
    tenant_ids: list[str],
) -> int:
    """Put the tenants into the rollout's canary (replacing any canary they had)."""
    if not tenant_ids:
        return 0
    TenantCanary.objects.filter(tenant_id__in=tenant_ids).delete()
    TenantCanary.objects.bulk_create(
        [
            TenantCanary(
                tenant_id=tenant_id,
                domain_pack=domain_pack,
                percent=percent,
                shadow=shadow,
                rollout_id=rollout_id,
            )
            for tenant_id in tenant_ids
        ],
        batch_size=1000,
    )
    _publish(tenant_ids)
    return len(tenant_ids)


def canaries_clear(*, rollout_id: UUID | str, tenant_ids: list[str] | None = None) -> list[str]:
    """End the rollout's canary on `tenant_ids` (all of its tenants when None): the baseline
    serves them again. Returns the tenants cleared."""
    rows = TenantCanary.objects.filter(rollout_id=rollout_id)
    if tenant_ids is not None:
        rows = rows.filter(tenant_id__in=tenant_ids)
    cleared = list(rows.values_list("tenant_id", flat=True))
    if cleared:
        TenantCanary.objects.filter(rollout_id=rollout_id, tenant_id__in=cleared).delete()
        _publish(cleared)
    return cleared
