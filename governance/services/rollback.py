"""Rollback (DESIGN §8): re-activate the pair of an earlier revision through the same route as an
activation, so it is checked, approved and audited alike."""

from governance.services.activation import request_change
from onboarding.errors import Conflict, InvalidInput, finding
from onboarding.principal import Principal
from runtime_config.models import ActivationHistory
from runtime_config.services.targets import (
    KIND_ROLLBACK,
    ActivationOutcome,
    Target,
    current_config,
)
from tenants.access import tenant_for_write


def config_rollback(
    *,
    principal: Principal,
    tenant_id: str,
    to_revision: int | None = None,
    expected_revision: int | None = None,
    comment: str = "",
    dry_run: bool = False,
) -> ActivationOutcome:
    """Re-activate the pair of an earlier revision (default: the one before the current)."""
    tenant = tenant_for_write(principal=principal, tenant_id=tenant_id)
    current = current_config(tenant.tenant_id)
    if to_revision is None:
        if current is None or current.revision < 2:
            raise Conflict(
                f"Tenant {tenant.tenant_id} has no previous revision to roll back to.",
                code="no_previous_revision",
                errors=[finding("no_previous_revision", "/to_revision", "No previous revision.")],
            )
        to_revision = current.revision - 1
    row = (
        ActivationHistory.objects.select_related("to_domain_pack", "to_tenant_pack")
        .filter(tenant=tenant, revision=to_revision)
        .first()
    )
    if row is None:
        raise InvalidInput(
            f"Tenant {tenant.tenant_id} has no revision {to_revision}.",
            code="unknown_revision",
            errors=[
                finding("unknown_revision", "/to_revision", f"Revision {to_revision} not found.")
            ],
        )
    target = Target(
        domain=row.domain, domain_pack=row.to_domain_pack, tenant_pack=row.to_tenant_pack
    )
    return request_change(
        principal=principal,
        tenant=tenant,
        current=current,
        target=target,
        expected_revision=expected_revision,
        comment=comment or f"Rollback to revision {to_revision}",
        dry_run=dry_run,
        kind=KIND_ROLLBACK,
    )
