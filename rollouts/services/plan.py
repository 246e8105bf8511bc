"""A rollout plan (DESIGN §16): checked in full before anything is written, then either started,
held for approval (one change request, `kind: rollout`, for the whole plan), or — `dry_run` —
answered as the plan it would run."""

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from impact.engine import decision_impact
from onboarding.errors import Conflict, InvalidInput, ServiceError, finding
from onboarding.principal import Principal
from packs.models import DomainPack, PackStatus
from packs.versions import parse_version, version_key
from rollouts.models import OPEN_STATUSES, Rollout, RolloutStatus, RolloutTenant, RolloutWave
from rollouts.services.records import rollout_event
from rollouts.services.waves import enqueue_step
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest, TenantActiveConfig
from runtime_config.services.batch import attach_packs
from runtime_config.services.compatibility import blocking_problems
from runtime_config.services.targets import KIND_ROLLOUT, Target
from tenants.access import tenant_for_write, tenants_for_write
from tenants.models import Tenant
from tenants.policy import approval_applies, global_approval_required, share_platform_settings

MAX_BAKE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Plan:
    domain_pack: DomainPack
    waves: list[list[str]]  # tenant ids per wave
    percents: list[int | None]
    configs: dict[str, TenantActiveConfig]


@dataclass(frozen=True)
class RolloutOutcome:
    """`status`: started, pending (a change request awaits approval) or preview."""

    status: str
    rollout: Rollout | None = None
    change_request: ConfigChangeRequest | None = None
    preview: dict[str, Any] | None = None


def _invalid(code: str, path: str, message: str, detail: str | None = None) -> InvalidInput:
    return InvalidInput(detail or message, code=code, errors=[finding(code, path, message)])


def _domain_pack(domain: str, version: str) -> DomainPack:
    if not DomainPack.objects.filter(domain=domain).exists():
        raise _invalid("unknown_domain", "/domain", f"No domain pack of domain {domain!r}.")
    parse_version(version, "/domain_pack_version")
    pack = (
        DomainPack.objects.filter(domain=domain, version_key=version_key(version))
        .only("id", "domain", "version", "checksum", "status")
        .first()
    )
    if pack is None:
        raise _invalid(
            "unknown_pack_version",
            "/domain_pack_version",
            f"Domain pack {domain} {version!r} not found.",
        )
    if pack.status == PackStatus.DEPRECATED:
        raise Conflict(
            f"Domain pack {domain} {version} is DEPRECATED.",
            code="pack_deprecated",
            errors=[finding("pack_deprecated", "/domain_pack_version", "Deprecated version.")],
        )
    return pack


def _fleet(principal: Principal, domain: str, tenants: list[str] | None, all_on_domain: bool):
    """The tenants of the plan, each writable by the principal and running `domain`."""
    if all_on_domain:
        visible = principal.visible_tenant_ids()
        configs = TenantActiveConfig.objects.filter(domain=domain).select_related("tenant")
        if visible is not None:
            configs = configs.filter(tenant_id__in=visible)
        found = {config.tenant_id: config for config in configs.order_by("tenant_id")}
        attach_packs(found.values())
        for tenant_id in found:
            if not principal.can_write_tenant(tenant_id):
                tenant_for_write(principal=principal, tenant_id=tenant_id)  # 403 admin_required
        if not found:
            raise _invalid("no_tenants", "/all_on_domain", f"No tenant runs domain {domain}.")
        return found
    tenants_for_write(principal=principal, tenant_ids=tenants)  # 404 / 403
    configs = {
        config.tenant_id: config
        for config in TenantActiveConfig.objects.filter(tenant_id__in=tenants).select_related(
            "tenant"
        )
    }
    attach_packs(configs.values())  # each pack row read once, not once per tenant
    wrong = [
        finding(
            "tenant_not_on_domain",
            f"/tenants/{index}",
            f"Tenant {tenant_id} runs "
            f"{configs[tenant_id].domain if tenant_id in configs else 'no configuration'}, "
            f"not {domain}.",
        )
        for index, tenant_id in enumerate(tenants)
        if tenant_id not in configs or configs[tenant_id].domain != domain
    ]
    if wrong:
        raise InvalidInput(
            f"Every tenant of a rollout must run domain {domain}.",
            code="tenant_not_on_domain",
            errors=wrong,
        )
    return {tenant_id: configs[tenant_id] for tenant_id in tenants}


def _duplicates(ids: list[str], path: str) -> None:
    seen = set()
    for index, tenant_id in enumerate(ids):
        if tenant_id in seen:
            raise _invalid(
                "duplicate_tenant", f"{path}/{index}", f"Tenant {tenant_id} is listed twice."
            )
        seen.add(tenant_id)


def _waves(waves: list[dict[str, Any]], fleet: list[str]) -> tuple[list[list[str]], list]:
    """Tenant waves (disjoint, covering the fleet) or percent waves (1..100 each, adding up to
    100, each getting at least one tenant), in order."""
    if not waves:
        raise _invalid("empty_waves", "/waves", "A rollout needs at least one wave.")
    kinds = {"tenants" in wave for wave in waves}
    if len(kinds) > 1:
        raise _invalid(
            "mixed_waves", "/waves", "Waves are either all lists of tenants or all percentages."
        )
    if kinds == {True}:
        members = set(fleet)
        placed: dict[str, int] = {}
        result = []
        for index, wave in enumerate(waves):
            ids = wave["tenants"]
            if not ids:
                raise _invalid("empty_wave", f"/waves/{index}/tenants", "This wave is empty.")
            for position, tenant_id in enumerate(ids):
                path = f"/waves/{index}/tenants/{position}"
                if tenant_id in placed:
                    raise _invalid(
                        "overlapping_waves",
                        path,
                        f"Tenant {tenant_id} is already in wave {placed[tenant_id] + 1}.",
                    )
                if tenant_id not in members:
                    raise _invalid(
                        "tenant_not_in_plan", path, f"Tenant {tenant_id} is not in the plan."
                    )
                placed[tenant_id] = index
            result.append(list(ids))
        missing = [tenant_id for tenant_id in fleet if tenant_id not in placed]
        if missing:
            raise _invalid(
                "tenants_not_in_wave",
                "/waves",
                f"{len(missing)} tenant(s) of the plan are in no wave: {', '.join(missing[:10])}.",
            )
        return result, [None] * len(result)
    percents = [wave["percent"] for wave in waves]
    for index, percent in enumerate(percents):
        if not 1 <= percent <= 100:
            raise _invalid(
                "invalid_percent", f"/waves/{index}/percent", "A wave's percent is 1 to 100."
            )
    if sum(percents) != 100:
        raise _invalid(
            "percent_sum",
            "/waves",
            f"The waves' percentages add up to {sum(percents)}, not 100.",
        )
    result, start, cumulative = [], 0, 0
    for index, percent in enumerate(percents):
        cumulative += percent
        end = math.ceil(len(fleet) * cumulative / 100)
        if end <= start:
            raise _invalid(
                "empty_wave",
                f"/waves/{index}/percent",
                f"{percent} % of {len(fleet)} tenant(s) is no tenant.",
            )
        result.append(fleet[start:end])
        start = end
    return result, percents


def _options(bake_seconds: int, max_skipped, guards: dict | None, canary: dict | None) -> dict:
    if not 0 <= bake_seconds <= MAX_BAKE_SECONDS:
        raise _invalid("invalid_bake_seconds", "/bake_seconds", f"0 to {MAX_BAKE_SECONDS} seconds.")
    if max_skipped is not None and max_skipped < 0:
        raise _invalid("invalid_max_skipped", "/max_skipped", "max_skipped is 0 or more.")
    guards = dict(guards or {})
    divergence = guards.get("max_divergence_pct")
    if divergence is not None and not 0 <= divergence <= 100:
        raise _invalid("invalid_guard", "/guards/max_divergence_pct", "A percentage from 0 to 100.")
    errors = guards.get("max_eval_errors")
    if errors is not None and errors < 0:
        raise _invalid("invalid_guard", "/guards/max_eval_errors", "0 or more.")
    if canary is not None:
        unknown = sorted(set(canary) - {"percent", "shadow"})
        if unknown:
            raise _invalid("invalid_canary", f"/canary/{unknown[0]}", "Only percent and shadow.")
        percent, shadow = canary.get("percent"), canary.get("shadow", False)
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
            raise _invalid("invalid_canary", "/canary/percent", "A whole number from 1 to 100.")
        if not isinstance(shadow, bool):
            raise _invalid("invalid_canary", "/canary/shadow", "true or false.")
    return guards


def plan_check(
    *,
    principal: Principal,
    domain: str,
    domain_pack_version: str,
    tenants: list[str] | None,
    all_on_domain: bool,
    waves: list[dict[str, Any]],
) -> Plan:
    pack = _domain_pack(domain, domain_pack_version)
    if bool(tenants) == bool(all_on_domain):
        raise _invalid(
            "tenants_required" if not tenants and not all_on_domain else "conflicting_fields",
            "/tenants",
            "Name the tenants, or set all_on_domain: true (not both).",
        )
    if tenants:
        _duplicates(tenants, "/tenants")
    configs = _fleet(principal, domain, tenants, all_on_domain)
    fleet = list(configs)
    wave_ids, percents = _waves(waves, fleet)
    taken = list(
        RolloutTenant.objects.filter(tenant_id__in=fleet, holding=True).values_list(
            "tenant_id", "rollout_id"
        )
    )
    if taken:
        raise Conflict(
            f"{len(taken)} tenant(s) are in another open rollout.",
            code="tenant_in_rollout",
            errors=[
                finding("tenant_in_rollout", "/tenants", f"Tenant {tid} is in rollout {rid}.")
                for tid, rid in taken[:50]
            ],
            extra={"rollouts": sorted({str(rid) for _, rid in taken})},
        )
    return Plan(domain_pack=pack, waves=wave_ids, percents=percents, configs=configs)


def _canary(canary: dict | None) -> dict | None:
    return (
        None
        if canary is None
        else {"percent": canary["percent"], "shadow": canary.get("shadow", False)}
    )


def rollout_create(
    *,
    principal: Principal,
    domain: str,
    domain_pack_version: str,
    waves: list[dict[str, Any]],
    bake_seconds: int,
    tenants: list[str] | None = None,
    all_on_domain: bool = False,
    max_skipped: int | None = None,
    auto_rollback: bool = True,
    guards: dict[str, Any] | None = None,
    canary: dict[str, Any] | None = None,
    comment: str = "",
    dry_run: bool = False,
) -> RolloutOutcome:
    guards = _options(bake_seconds, max_skipped, guards, canary)
    plan = plan_check(
        principal=principal,
        domain=domain,
        domain_pack_version=domain_pack_version,
        tenants=tenants,
        all_on_domain=all_on_domain,
        waves=waves,
    )
    needs_approval = _approval_applies(plan)
    if dry_run:
        preview = plan_preview(plan, needs_approval)
        preview["canary"] = _canary(canary)
        return RolloutOutcome(status="preview", preview=preview)
    try:
        with transaction.atomic():
            return _create(
                principal,
                plan,
                bake_seconds,
                max_skipped,
                auto_rollback,
                guards,
                comment,
                _canary(canary),
            )
    except IntegrityError:
        # Another rollout took one of these tenants between the check and the insert.
        raise Conflict(
            "A tenant of this plan joined another open rollout meanwhile.",
            code="tenant_in_rollout",
            errors=[finding("tenant_in_rollout", "/tenants", "Try again to see which one.")],
        ) from None


def _approval_applies(plan: Plan) -> bool:
    global_required = global_approval_required()
    return any(
        approval_applies(tenant, global_required=global_required)
        for tenant in Tenant.objects.filter(pk__in=list(plan.configs)).only(
            "tenant_id", "require_activation_approval"
        )
    )


def _create(principal, plan, bake_seconds, max_skipped, auto_rollback, guards, comment, canary):
    # Decided under the tenants' locks and the global setting held FOR SHARE, like an activation.
    locked = list(
        Tenant.objects.select_for_update(no_key=True)
        .filter(pk__in=list(plan.configs))
        .order_by("pk")
    )
    share_platform_settings()
    global_required = global_approval_required()
    needs_approval = any(
        approval_applies(tenant, global_required=global_required) for tenant in locked
    )
    rollout = Rollout.objects.create(
        domain=plan.domain_pack.domain,
        domain_pack=plan.domain_pack,
        status=RolloutStatus.PENDING_APPROVAL if needs_approval else RolloutStatus.RUNNING,
        bake_seconds=bake_seconds,
        max_skipped=max_skipped,
        auto_rollback=auto_rollback,
        guards=guards,
        canary=canary,
        readings={"eval_errors": 0, "divergence_pct": 0.0, "evaluated": 0, "alarms": []},
        created_by=principal.username,
        acting_as=principal.username,
        comment=comment or "",
        next_wave_at=None if needs_approval else timezone.now(),
    )
    rows = []
    for index, (ids, percent) in enumerate(zip(plan.waves, plan.percents, strict=True)):
        wave = RolloutWave.objects.create(rollout=rollout, index=index, percent=percent)
        rows.extend(RolloutTenant(rollout=rollout, wave=wave, tenant_id=tid) for tid in ids)
    RolloutTenant.objects.bulk_create(rows, batch_size=1000)
    total = len(rows)
    if needs_approval:
        rollout.change_request = ConfigChangeRequest.objects.create(
            tenant=None,
            domain=rollout.domain,
            domain_pack=plan.domain_pack,
            base_revision=0,
            kind=KIND_ROLLOUT,
            requested_by=principal.username,
            comment=f"Rollout {rollout.id}: {total} tenant(s) in {len(plan.waves)} wave(s). "
            + (comment or ""),
            status=ChangeRequestStatus.PENDING,
        )
        rollout.save(update_fields=["change_request"])
        rollout_event(
            rollout,
            "created",
            principal.username,
            f"{total} tenant(s) in {len(plan.waves)} wave(s), awaiting approval",
            change_request_id=str(rollout.change_request_id),
        )
        return RolloutOutcome(
            status="pending", rollout=rollout, change_request=rollout.change_request
        )
    rollout_event(
        rollout, "created", principal.username, f"{total} tenant(s) in {len(plan.waves)} wave(s)"
    )
    rollout_event(rollout, "started", principal.username, "started")
    enqueue_step(rollout)
    return RolloutOutcome(status="started", rollout=rollout)


def plan_preview(plan: Plan, needs_approval: bool) -> dict[str, Any]:
    """What the plan would do now: its waves, the tenants a check would skip today (with the
    reason), and the decision impact summed over the tenants' sample sets."""
    waves = []
    for index, (ids, percent) in enumerate(zip(plan.waves, plan.percents, strict=True)):
        tenants = []
        for tenant_id in ids:
            problem = _problem_now(plan, tenant_id)
            tenants.append({"tenant_id": tenant_id, "would_skip": problem})
        waves.append({"index": index, "number": index + 1, "percent": percent, "tenants": tenants})
    return {
        "dry_run": True,
        "outcome": "pending_approval" if needs_approval else "start",
        "requires_approval": needs_approval,
        "domain": plan.domain_pack.domain,
        "domain_pack_version": plan.domain_pack.version,
        "tenant_count": len(plan.configs),
        "waves": waves,
        "impact": fleet_impact(plan.domain_pack, plan.configs),
    }


def _problem_now(plan: Plan, tenant_id: str) -> str | None:
    config = plan.configs[tenant_id]
    target = Target(config.domain, plan.domain_pack, config.tenant_pack)
    problems: list[ServiceError] = blocking_problems(
        tenant=config.tenant, config=config, target=target, expected_revision=None
    )
    if target.same_as(config):
        return "unchanged"
    return f"{problems[0].code}: {problems[0].detail}" if problems else None


def fleet_impact(domain_pack: DomainPack, configs: dict[str, TenantActiveConfig]) -> dict:
    """The decision impact of the move, summed over the tenants' sample sets (at most
    ROLLOUT_IMPACT_MAX_TENANTS tenants are evaluated; `partial` says when more were left)."""
    limit = settings.ROLLOUT_IMPACT_MAX_TENANTS
    total = {"samples": 0, "evaluated": 0, "changed": 0, "errors": 0, "partial": False}
    per_tenant = []
    for index, (tenant_id, config) in enumerate(configs.items()):
        if index >= limit:
            total["partial"] = True
            break
        result = decision_impact(
            tenant_id=tenant_id,
            before=(config.domain_pack, config.tenant_pack),
            after=(domain_pack, config.tenant_pack),
        )
        for key in ("samples", "evaluated", "changed", "errors"):
            total[key] += result[key]
        total["partial"] = total["partial"] or result["partial"]
        if result["changed"] or result["errors"]:
            per_tenant.append(
                {"tenant_id": tenant_id, "changed": result["changed"], "errors": result["errors"]}
            )
    total["tenants"] = per_tenant
    total["tenants_evaluated"] = min(len(configs), limit)
    return total


__all__ = ["KIND_ROLLOUT", "OPEN_STATUSES", "RolloutOutcome", "rollout_create"]
