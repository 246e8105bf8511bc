"""Activation of a (domain pack, tenant pack) pair for a tenant (DESIGN §8), and the one route
every requested change takes: dry-run preview, refusal, no-op, change request awaiting
approval, or `apply_target` right away."""

from django.db import transaction

from runtime_config.models import TenantActiveConfig
from runtime_config.services.apply import apply_target
from runtime_config.services.change_requests import (
    activation_requires_approval,
    change_request_create,
)
from runtime_config.services.compatibility import blocking_problems
from runtime_config.services.previews import activation_preview
from runtime_config.services.targets import (
    KIND_ACTIVATE,
    ActivationOutcome,
    Target,
    current_config,
    resolve_target,
)
from tenants.access import tenant_for_write
from tenants.models import Tenant
from tenants.principals import Principal


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
) -> ActivationOutcome:
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
) -> ActivationOutcome:
    """Preview, refuse, report no change, create a change request, or apply — in that order."""
    problems = blocking_problems(
        tenant=tenant, config=current, target=target, expected_revision=expected_revision
    )
    if dry_run:
        return ActivationOutcome(
            status="preview",
            config=current,
            preview=activation_preview(
                tenant=tenant, current=current, target=target, problems=problems
            ),
        )
    if problems:
        raise problems[0]
    if target.same_as(current):
        return ActivationOutcome(status="unchanged", config=current)
    if activation_requires_approval(tenant):
        return ActivationOutcome(
            status="pending",
            config=current,
            change_request=change_request_create(
                principal=principal,
                tenant=tenant,
                target=target,
                base_revision=current.revision if current else 0,
                comment=comment,
                kind=kind,
            ),
        )
    with transaction.atomic():
        config = apply_target(
            principal=principal,
            tenant=tenant,
            target=target,
            comment=comment,
            kind=kind,
            expected_revision=expected_revision,
        )
    if config is None:
        # A concurrent request applied the same pair while we waited for the lock.
        return ActivationOutcome(status="unchanged", config=current_config(tenant.tenant_id))
    return ActivationOutcome(status="applied", config=config)
