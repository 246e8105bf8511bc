"""Reads of rollouts, scoped by the acting principal: a platform principal sees every rollout; a
tenant-bound one sees the rollouts whose tenants are all its own (never another tenant's id)."""

import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet

from onboarding.errors import Forbidden, NotFound
from onboarding.principal import Principal, require_any_role
from rollouts.models import (
    OPEN_STATUSES,
    Rollout,
    RolloutTenant,
    RolloutWave,
    TenantStatus,
    WaveStatus,
)
from runtime_config.models import TenantActiveConfig
from runtime_config.selectors import canary_convergence, shadow_counts


def rollout_list(*, principal: Principal) -> QuerySet[Rollout]:
    require_any_role(principal)
    rollouts = Rollout.objects.select_related("domain_pack").order_by("-created_at")
    visible = principal.visible_tenant_ids()
    if visible is None:
        return rollouts
    if principal.is_platform:  # narrowed by X-Tenant-ID: the rollouts that name the tenant
        return rollouts.filter(tenants__tenant_id__in=visible).distinct()
    others = RolloutTenant.objects.exclude(tenant_id__in=visible).values("rollout_id")
    return rollouts.filter(tenants__tenant_id__in=visible).exclude(pk__in=others).distinct()


def rollout_get(*, principal: Principal, rollout_id) -> Rollout:
    try:
        rollout = rollout_list(principal=principal).filter(pk=rollout_id).first()
    except (ValidationError, ValueError):
        rollout = None
    if rollout is None:
        raise NotFound(f"Rollout {rollout_id} not found.", code="rollout_not_found")
    return rollout


def rollout_for_write(*, principal: Principal, rollout_id) -> Rollout:
    """ADMIN of every tenant of the rollout (a platform ADMIN is)."""
    rollout = rollout_get(principal=principal, rollout_id=rollout_id)
    if not principal.is_platform_admin:
        ids = RolloutTenant.objects.filter(rollout=rollout).values_list("tenant_id", flat=True)
        if not all(principal.can_write_tenant(tenant_id) for tenant_id in ids):
            raise Forbidden(
                "ADMIN role on every tenant of the rollout required.", code="admin_required"
            )
    return rollout


def rollout_waves(rollout: Rollout) -> list[tuple[RolloutWave, list[RolloutTenant]]]:
    members: dict[int, list[RolloutTenant]] = {}
    for member in RolloutTenant.objects.filter(rollout=rollout).order_by("tenant_id"):
        members.setdefault(member.wave_id, []).append(member)
    return [(wave, members.get(wave.pk, [])) for wave in rollout.waves.order_by("index")]


def rollout_counts(rollout: Rollout) -> dict[str, int]:
    return rollouts_counts([rollout]).get(rollout.pk, {})


def rollouts_counts(rollouts: Iterable[Rollout]) -> dict[uuid.UUID, dict[str, int]]:
    """Tenants per status of each rollout, by rollout id (a rollout without tenants is absent),
    in one grouped query whatever the number of rollouts, so a list page costs the same for 3
    rows or 200. The statuses come in TenantStatus order, so a row reads the same in every
    response."""
    rows = (
        RolloutTenant.objects.filter(rollout__in=[rollout.pk for rollout in rollouts])
        .values_list("rollout_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    order = {status: position for position, status in enumerate(TenantStatus.values)}
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for rollout_id, status, n in sorted(rows, key=lambda row: order.get(row[1], len(order))):
        counts.setdefault(rollout_id, {})[status] = n
    return counts


def waves_applied(rollouts: Iterable[Rollout]) -> dict[uuid.UUID, tuple[int, int]]:
    """(applied, total) waves of each rollout, by rollout id, in one grouped query."""
    rows = (
        RolloutWave.objects.filter(rollout__in=[rollout.pk for rollout in rollouts])
        .values("rollout_id")
        .annotate(
            applied=Count("pk", filter=Q(status=WaveStatus.APPLIED)),
            total=Count("pk"),
        )
        .order_by()
    )
    return {row["rollout_id"]: (row["applied"], row["total"]) for row in rows}


def open_rollout_of_tenant(*, principal: Principal, tenant_id: str) -> Rollout | None:
    """The open rollout a tenant is in (the tenant page links to it), if the principal may see
    it."""
    row = (
        RolloutTenant.objects.filter(
            tenant_id=tenant_id, holding=True, rollout__status__in=OPEN_STATUSES
        )
        .values_list("rollout_id", flat=True)
        .first()
    )
    if row is None:
        return None
    return rollout_list(principal=principal).filter(pk=row).first()


def shadow_readings(rollout: Rollout) -> dict[str, Any]:
    """A canary's live readings from its shadow counts (flushed by the serving processes):
    evaluations each arm served, shadowed evaluations, divergent ones and their share, the other
    arm's errors, and the divergent count per rule."""
    counts = shadow_counts(rollout_id=rollout.id)
    evaluated, divergent = counts.get("*evaluated", 0), counts.get("*divergent", 0)
    return {
        "evaluated": evaluated,
        "changed": divergent,
        "eval_errors": counts.get("*errors", 0),
        "divergence_pct": round(100 * divergent / evaluated, 2) if evaluated else 0.0,
        "rules": {rule: n for rule, n in sorted(counts.items()) if not rule.startswith("*")},
        "served": {arm: counts.get(f"*served:{arm}", 0) for arm in ("baseline", "candidate")},
    }


def canary_arms(rollout: Rollout) -> dict[str, Any]:
    """Both arms of a canary rollout for its page: the tenants in canary, the domain pack
    versions the baseline runs on them and the candidate's, and the live shadow readings (the
    stored readings are those of the last step)."""
    tenants = list(
        RolloutTenant.objects.filter(rollout=rollout, status=TenantStatus.CANARY)
        .order_by("tenant_id")
        .values_list("tenant_id", flat=True)
    )
    baseline = sorted(
        set(
            TenantActiveConfig.objects.filter(tenant_id__in=tenants).values_list(
                "domain_pack__version", flat=True
            )
        )
    )
    return {
        **rollout.canary,
        "tenants": tenants,
        "baseline_versions": baseline,
        "candidate_version": rollout.domain_pack.version,
        "live": shadow_readings(rollout),
        "convergence": canary_convergence(tenant_ids=tenants),
    }
