from django.db.models import QuerySet

from onboarding.principal import Principal
from runtime_config.convergence import SILENCE, pair_checksum
from runtime_config.models import ActivationHistory, ServedConfig, TenantActiveConfig
from tenants.access import tenant_for_read


def active_config_get(*, principal: Principal, tenant_id: str) -> TenantActiveConfig | None:
    """`get_active_config` of the specification: None when the tenant has none yet."""
    tenant_for_read(principal=principal, tenant_id=tenant_id)
    return (
        TenantActiveConfig.objects.select_related("domain_pack", "tenant_pack")
        .defer("domain_pack__content_json", "tenant_pack__content_json")
        .filter(tenant_id=tenant_id)
        .first()
    )


def activation_history_list(*, principal: Principal, tenant_id: str) -> QuerySet[ActivationHistory]:
    """Applied activations of one tenant, newest first."""
    tenant_for_read(principal=principal, tenant_id=tenant_id)
    return (
        ActivationHistory.objects.filter(tenant_id=tenant_id)
        .select_related(
            "from_domain_pack",
            "from_tenant_pack",
            "to_domain_pack",
            "to_tenant_pack",
            "change_request",
        )
        .defer(*_PACK_CONTENT_FIELDS)
        .order_by("-revision")
    )


_PACK_CONTENT_FIELDS = (
    "from_domain_pack__content_json",
    "from_tenant_pack__content_json",
    "to_domain_pack__content_json",
    "to_tenant_pack__content_json",
)


def active_tenants_by_pack(
    *, principal: Principal, field: str, pack_ids: list[int]
) -> dict[int, list[str]]:
    """Which tenants (that the principal may see) run each pack right now: one query for a whole
    page. `field` is "domain_pack_id" or "tenant_pack_id"."""
    if field not in ("domain_pack_id", "tenant_pack_id"):
        raise ValueError(field)
    if not pack_ids:
        return {}
    rows = TenantActiveConfig.objects.filter(**{f"{field}__in": pack_ids})
    visible = principal.visible_tenant_ids()
    if visible is not None:
        rows = rows.filter(tenant_id__in=visible)
    found: dict[int, list[str]] = {}
    for pack_id, tenant_id in rows.order_by("tenant_id").values_list(field, "tenant_id"):
        found.setdefault(pack_id, []).append(tenant_id)
    return found


def tenants_with_active_config(*, principal: Principal, limit: int = 500) -> list[str]:
    """Ids of the visible tenants that have an active configuration, in id order."""
    configs = TenantActiveConfig.objects.order_by("tenant_id")
    visible = principal.visible_tenant_ids()
    if visible is not None:
        configs = configs.filter(tenant_id__in=visible)
    return list(configs.values_list("tenant_id", flat=True)[:limit])


def convergence_get(*, principal: Principal, tenant_id: str) -> dict:
    """Which revision every live serving process answers with for the tenant, against the active
    one: `{revision, checksum, converged, state, reason, processes: [...]}` (DESIGN §14).
    `converged` is true when every listed process serves the active revision and pair, false
    while one does not, and null when no live process serves the tenant (state `not_served`):
    "every one of no processes" is no evidence of anything (issue 25)."""
    from django.utils import timezone

    tenant_for_read(principal=principal, tenant_id=tenant_id)
    active = (
        TenantActiveConfig.objects.filter(tenant_id=tenant_id)
        .values_list("revision", "domain_pack__checksum", "tenant_pack__checksum")
        .first()
    )
    revision, checksum = None, None
    if active is not None:
        revision, checksum = active[0], pair_checksum(active[1], active[2])
    rows = (
        ServedConfig.objects.filter(
            tenant_id=tenant_id, process__seen_at__gte=timezone.now() - SILENCE
        )
        .select_related("process")
        .order_by("process__host", "process__pid", "process_id")
    )
    processes = [
        {
            "process_id": row.process_id,
            "host": row.process.host,
            "pid": row.process.pid,
            "revision": row.revision,
            "checksum": row.checksum,
            "seen_at": row.process.seen_at,
            "current": row.revision == revision and row.checksum == checksum,
        }
        for row in rows
    ]
    if not processes:
        converged, state = None, "not_served"
        reason = "No live serving process has reported serving this tenant."
    elif all(item["current"] for item in processes):
        converged, state, reason = True, "converged", ""
    else:
        converged, state = False, "converging"
        reason = "Some serving processes still answer with another revision."
    return {
        "tenant_id": tenant_id,
        "revision": revision,
        "checksum": checksum,
        "converged": converged,
        "state": state,
        "reason": reason,
        "processes": processes,
    }
