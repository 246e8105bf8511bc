"""Activation of a (domain pack, tenant pack) pair for a tenant (DESIGN §8), and the one route
every requested change takes: dry-run preview, refusal, no-op, change request awaiting
approval, or `apply_target` right away."""

from datetime import datetime
from typing import Any

from django.db import transaction

from governance.services.change_requests import change_request_create
from governance.services.policy import activation_requires_approval
from governance.services.previews import activation_preview
from governance.services.scheduling import change_request_schedule, parse_apply_at
from onboarding.principal import Principal
from runtime_config.models import TenantActiveConfig
from runtime_config.services.apply import apply_target, lock_config
from runtime_config.services.compatibility import blocking_problems
from runtime_config.services.targets import (
    KIND_ACTIVATE,
    ActivationOutcome,
    Target,
    current_config,
    resolve_target,
)
from tenants.access import tenant_for_write
from tenants.models import Tenant


def config_activate(
    *,
    principal: Principal,
    tenant_id: str,
    domain: str | None = None,
    domain_pack_version: str | None = None,
    tenant_pack_version: str | None = None,
    expected_revision: int | None = None,
    comment: str = "",
    dry_run: bool = False,
    apply_at: str | None = None,
) -> ActivationOutcome:
    """`apply_at` (RFC 3339, future, ≤ 90 days) schedules the change instead of applying it."""
    when = parse_apply_at(apply_at) if apply_at is not None else None
    tenant = tenant_for_write(principal=principal, tenant_id=tenant_id)
    current = current_config(tenant.tenant_id)
    target = resolve_target(
        tenant=tenant,
        current=current,
        domain=domain,
        domain_pack_version=domain_pack_version,
        tenant_pack_version=tenant_pack_version,
    )
    return request_change(
        principal=principal,
        tenant=tenant,
        current=current,
        target=target,
        expected_revision=expected_revision,
        comment=comment,
        dry_run=dry_run,
        kind=KIND_ACTIVATE,
        apply_at=when,
    )


def request_change(
    *,
    principal: Principal,
    tenant: Tenant,
    current: TenantActiveConfig | None,
    target: Target,
    expected_revision: int | None,
    comment: str,
    dry_run: bool,
    kind: str,
    apply_at: datetime | None = None,
) -> ActivationOutcome:
    """Preview, refuse, report no change, create a change request, schedule, or apply — in that
    order. A change checked now is checked again when it is applied."""
    problems = blocking_problems(
        tenant=tenant, config=current, target=target, expected_revision=expected_revision
    )
    if dry_run:
        return ActivationOutcome(
            status="preview",
            config=current,
            preview=_with_schedule(
                activation_preview(
                    tenant=tenant, current=current, target=target, problems=problems
                ),
                apply_at,
            ),
        )
    if problems:
        raise problems[0]
    if target.same_as(current):
        return ActivationOutcome(status="unchanged", config=current)
    with transaction.atomic():
        # Decide under the tenant row's lock (and the global setting held FOR SHARE): a policy
        # change committing meanwhile is either seen here or waits for this decision, so no
        # activation skips an approval that applies when it commits.
        locked_tenant, _ = lock_config(tenant.tenant_id)
        if activation_requires_approval(locked_tenant, locked=True):
            return ActivationOutcome(
                status="pending",
                config=current,
                change_request=change_request_create(
                    principal=principal,
                    tenant=locked_tenant,
                    target=target,
                    base_revision=current.revision if current else 0,
                    comment=comment,
                    kind=kind,
                    apply_at=apply_at,
                ),
            )
        if apply_at is not None:
            return ActivationOutcome(
                status="scheduled",
                config=current,
                change_request=change_request_schedule(
                    principal=principal,
                    tenant=locked_tenant,
                    target=target,
                    base_revision=current.revision if current else 0,
                    comment=comment,
                    kind=kind,
                    apply_at=apply_at,
                ),
            )
        config = apply_target(
            principal=principal,
            tenant=locked_tenant,
            target=target,
            comment=comment,
            kind=kind,
            expected_revision=expected_revision,
        )
    if config is None:
        # A concurrent request applied the same pair while we waited for the lock.
        return ActivationOutcome(status="unchanged", config=current_config(tenant.tenant_id))
    return ActivationOutcome(status="applied", config=config)


def _with_schedule(preview: dict[str, Any], apply_at: datetime | None) -> dict[str, Any]:
    if apply_at is None:
        return preview
    outcome = preview["outcome"]
    if outcome == "apply":
        outcome = "scheduled"
    return {**preview, "outcome": outcome, "apply_at": apply_at.isoformat()}
