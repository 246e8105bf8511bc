"""The dry run of an activation or rollback: what would change, in the pair and in the effective
configuration the runtime serves, and every problem and warning — nothing is written."""

from typing import Any

from governance import hooks
from governance.services.policy import activation_requires_approval
from impact.engine import decision_impact
from impact.runs import impact_run_read, impact_run_request
from onboarding.errors import ServiceError
from packs.diff import json_diff
from packs.models import DomainPack, TenantPack
from packs.validation import validate_tenant_pack
from runtime_config.effective import merge_effective_config
from runtime_config.models import ActivationHistory, ConfigChangeRequest, TenantActiveConfig
from runtime_config.services.compatibility import link_findings
from runtime_config.services.targets import (
    KIND_ACTIVATE,
    KIND_ROLLBACK,
    KIND_ROLLOUT,
    Target,
    config_snapshot,
)
from tenants.models import Tenant


def activation_preview(
    *,
    tenant: Tenant,
    current: TenantActiveConfig | None,
    target: Target,
    problems: list[ServiceError],
) -> dict[str, Any]:
    """The body of a dry run; `problems` are the blocking problems already computed."""
    before = config_snapshot(current)
    changed = not target.same_as(current)
    after = {
        "domain": target.domain,
        "domain_pack_version": target.domain_pack.version if target.domain_pack else None,
        "domain_pack_checksum": target.domain_pack.checksum if target.domain_pack else None,
        "tenant_pack_version": target.tenant_pack.version if target.tenant_pack else None,
        "tenant_pack_checksum": target.tenant_pack.checksum if target.tenant_pack else None,
        "revision": before["revision"] + 1 if changed else before["revision"],
    }
    changes = [
        {"field": name, "from": before[name], "to": after[name]}
        for name in ("domain", "domain_pack_version", "tenant_pack_version")
        if before[name] != after[name]
    ]
    errors = [dict(item, problem=problem.code) for problem in problems for item in problem.errors]
    _, link_warnings = link_findings(tenant.tenant_id, target) if changed else ([], [])
    warnings = _validation_warnings(target) + list(link_warnings)
    requires_approval = activation_requires_approval(tenant)
    if problems:
        outcome = "refused"
    elif not changed:
        outcome = "unchanged"
    else:
        outcome = "pending_approval" if requires_approval else "apply"
    return {
        "dry_run": True,
        "tenant_id": tenant.tenant_id,
        "outcome": outcome,
        "changed": changed,
        "valid": not problems,
        "problems": [problem.code for problem in problems],
        "current": {key: value for key, value in before.items() if not key.endswith("_id")}
        if current
        else None,
        "proposed": after,
        "changes": changes,
        "effective_config_diff": effective_config_diff(current, target),
        "errors": errors,
        "warnings": warnings,
        "requires_approval": requires_approval,
        "impact": decision_impact(
            tenant_id=tenant.tenant_id,
            before=(current.domain_pack, current.tenant_pack) if current else (None, None),
            after=(target.domain_pack, target.tenant_pack),
        ),
    }


def _validation_warnings(target: Target) -> list[dict[str, Any]]:
    if target.tenant_pack is None or target.domain_pack is None:
        return []
    report = validate_tenant_pack(
        target.tenant_pack.content_json,
        domain_pack_content=target.domain_pack.content_json,
        checked_against={"domain": target.domain, "version": target.domain_pack.version},
    )
    return list(report.get("warnings", []))


def _effective(domain_pack: DomainPack | None, tenant_pack: TenantPack | None) -> dict:
    if domain_pack is None:
        return {}
    tenant_content = tenant_pack.content_json if tenant_pack else None
    return merge_effective_config(domain_pack.content_json, tenant_content)


def effective_config_diff(current: TenantActiveConfig | None, target: Target) -> dict[str, list]:
    """The JSON Pointer diff between the effective configuration served now and the target's."""
    old = _effective(current.domain_pack, current.tenant_pack) if current else {}
    return json_diff(old, _effective(target.domain_pack, target.tenant_pack))


def pair_diff(before: tuple, after: tuple) -> dict[str, list]:
    """The effective-config diff between two (domain pack, tenant pack) pairs."""
    return json_diff(_effective(*before), _effective(*after))


def review_pairs(change_request: ConfigChangeRequest) -> tuple[tuple, tuple]:
    """(before, after) of a pack change request: the pair at its base revision (what the tenant
    ran when it was requested, and still runs while it can be approved) and its target pair."""
    base = (
        ActivationHistory.objects.select_related("to_domain_pack", "to_tenant_pack")
        .filter(tenant_id=change_request.tenant_id, revision=change_request.base_revision)
        .first()
    )
    before = (base.to_domain_pack, base.to_tenant_pack) if base else (None, None)
    return before, (change_request.domain_pack, change_request.tenant_pack)


def review_impact_request(change_request: ConfigChangeRequest) -> None:
    """Inside the transaction that creates a request awaiting review: its decision impact is
    requested from the worker now, so that the first reviewer finds it computed."""
    if change_request.kind in (KIND_ACTIVATE, KIND_ROLLBACK):
        before, after = review_pairs(change_request)
        impact_run_request(tenant_id=change_request.tenant_id, before=before, after=after)


def review_computes_impact(change_request: ConfigChangeRequest) -> bool:
    """Whether reading this request's review computes an impact on the request path (a
    rollout's fleet impact, rollouts' own); a pack change's is the worker's stored run, so its
    reads are not rate-limited as impacts."""
    return change_request.kind == KIND_ROLLOUT


def change_request_review(change_request: ConfigChangeRequest) -> dict[str, Any]:
    """What a reviewer decides on (DESIGN §14): the effective-config `diff` and the decision
    `impact` of a change request, from its base pair to its target pair. The impact is the run
    the worker stored (`status: ready`, partial or not) or `status: pending`: a read never
    computes it (issue 25: VIEWERs reloading review pages tied up the request workers). A
    request without a pair to activate (another kind) has neither."""
    if change_request.kind == KIND_ROLLOUT:
        return {"diff": None, "impact": hooks.rollout_impact(change_request=change_request)}
    if change_request.kind not in (KIND_ACTIVATE, KIND_ROLLBACK):
        return {"diff": None, "impact": None}
    before, after = review_pairs(change_request)
    return {
        "diff": pair_diff(before, after),
        "impact": impact_run_read(tenant_id=change_request.tenant_id, before=before, after=after),
    }
