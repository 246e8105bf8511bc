"""Four-eyes over the approval policy itself (DESIGN §14): whether approval applies to an
activation, and the changes of the policy — a tenant's (`tenant_set_approval_policy`, and
`tenant_update`, a rename with it) or the global setting (`platform_settings_update`).
Strengthening applies at once; a weakening is a change request (`kind: policy`) a second ADMIN
approves (`approve_policy`, called by change_request_approve)."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from governance import signals
from governance.services.pending import end_stale, supersede_pending
from governance.services.records import change_request_snapshot, pair_text
from governance.services.reviews import close_request, lock_pending, send_review_event
from onboarding.errors import Conflict, finding
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal, require_platform_admin
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest, TenantActiveConfig
from runtime_config.services.targets import KIND_POLICY
from tenants.access import tenant_for_write
from tenants.models import PlatformSettings, Tenant
from tenants.policy import (
    approval_applies,
    platform_settings_apply,
    platform_settings_row,
    share_platform_settings,
    tenant_policy_apply,
)
from tenants.services import tenant_rename


def activation_requires_approval(tenant: Tenant, *, locked: bool = False) -> bool:
    """The tenant's policy, else the global setting (the platform_settings row, never the
    environment). `locked`: inside a transaction that acts on the answer, hold the global
    setting FOR SHARE so a concurrent change of it waits for this one."""
    if locked and tenant.require_activation_approval is None:
        share_platform_settings()
    return approval_applies(tenant)


def policy_change_request_create(
    *,
    principal: Principal,
    tenant: Tenant | None,
    require_activation_approval: bool | None,
    current: bool | None,
) -> ConfigChangeRequest:
    """A change that weakens four-eyes (a tenant's policy, or the global setting when `tenant` is
    None), waiting for a second ADMIN of the right scope. Runs inside the caller's transaction,
    which holds the tenant row's lock (or the platform settings row's)."""
    scope = "tenant" if tenant is not None else "global"
    tenant_id = tenant.tenant_id if tenant is not None else None
    supersede_pending(tenant_id=tenant_id, kind=KIND_POLICY, actor=principal.username)
    config = TenantActiveConfig.objects.filter(tenant_id=tenant_id).first() if tenant else None
    change_request = ConfigChangeRequest.objects.create(
        tenant=tenant,
        domain="",
        base_revision=config.revision if config else 0,
        kind=KIND_POLICY,
        # `from`: the policy this request was decided against; approval ends it STALE if that
        # moved meanwhile (a strengthening since must not be undone by an older request).
        policy={
            "scope": scope,
            "require_activation_approval": require_activation_approval,
            "from": current,
        },
        requested_by=principal.username,
    )
    send_event(
        signals.config_activation_requested,
        ConfigChangeRequest,
        DomainEvent(
            action="change_request.created",
            actor=principal.username,
            summary=f"Change of {pair_text(change_request)} for {tenant_id or 'the platform'} "
            "requested (awaiting approval by a second ADMIN)",
            tenant_id=tenant_id,
            object_type="config_change_request",
            object_id=str(change_request.pk),
            details={"change_request": change_request_snapshot(change_request)},
        ),
    )
    return change_request


def approve_policy(
    principal: Principal, change_request: ConfigChangeRequest, comment: str
) -> ConfigChangeRequest:
    policy = change_request.policy or {}
    value = policy.get("require_activation_approval")
    moved: Conflict | None = None
    with transaction.atomic():
        if change_request.tenant_id is None:
            row = platform_settings_row(lock=True)
            change_request = lock_pending(change_request.pk)
            current = row.require_activation_approval
        else:
            tenant = Tenant.objects.select_for_update().get(pk=change_request.tenant_id)
            change_request = lock_pending(change_request.pk)
            current = tenant.require_activation_approval
        if "from" in policy and current != policy["from"]:
            moved = Conflict(
                "The approval policy changed since this request was filed; request it again.",
                code="stale_change_request",
                errors=[
                    finding(
                        "stale_change_request",
                        "",
                        f"Requested from {policy['from']!r}, now {current!r}.",
                    )
                ],
            )
            end_stale(
                change_request,
                reason="policy_moved",
                actor=principal.username,
                what="not applied: the policy changed meanwhile",
            )
        else:
            if change_request.tenant_id is None:
                platform_settings_apply(
                    actor=principal.username,
                    row=row,
                    value=bool(value),
                    change_request_id=str(change_request.pk),
                )
            else:
                tenant_policy_apply(
                    actor=principal.username,
                    tenant=tenant,
                    value=value,
                    change_request_id=str(change_request.pk),
                )
            close_request(change_request, ChangeRequestStatus.APPLIED, principal, comment)
            send_review_event(
                signals.change_request_approved,
                "change_request.approved",
                change_request,
                principal,
            )
    if moved is not None:
        moved.already_audited = True
        raise moved
    return change_request


@dataclass(frozen=True)
class TenantChange:
    """A tenant after a PATCH, and the change request a weakening of its policy created (the
    policy itself unchanged until a second ADMIN approves it)."""

    tenant: Tenant
    change_request: Any = None


def tenant_set_approval_policy(
    *, principal: Principal, tenant_id: str, require_activation_approval: bool | None
) -> TenantChange:
    """Strengthening applies at once; a change that would switch approval off for a tenant it
    applies to is a change request for a second ADMIN (DESIGN §14)."""
    with transaction.atomic():
        tenant = tenant_for_write(principal=principal, tenant_id=tenant_id, lock=True)
        # A tenant's own admins must not be able to switch off the four-eyes rule over them.
        require_platform_admin(principal)
        if tenant.require_activation_approval == require_activation_approval:
            return TenantChange(tenant)
        if approval_applies(tenant) and not approval_applies(
            tenant, tenant_policy=require_activation_approval
        ):
            change_request = policy_change_request_create(
                principal=principal,
                tenant=tenant,
                require_activation_approval=require_activation_approval,
                current=tenant.require_activation_approval,
            )
            return TenantChange(tenant, change_request)
        tenant_policy_apply(
            actor=principal.username, tenant=tenant, value=require_activation_approval
        )
    return TenantChange(tenant)


def tenant_update(
    *, principal: Principal, tenant_id: str, name: str | None = None, **policy: bool | None
) -> TenantChange:
    """PATCH of a tenant: its name and, when `require_activation_approval` is passed (None
    included: it means "follow the global setting"), its approval policy, in one transaction."""
    unknown = set(policy) - {"require_activation_approval"}
    if unknown:
        raise TypeError(f"unexpected arguments {sorted(unknown)}")
    change = None
    with transaction.atomic():
        tenant = tenant_for_write(principal=principal, tenant_id=tenant_id, lock=True)
        if name is not None:
            tenant = tenant_rename(principal=principal, tenant=tenant, name=name)
        if "require_activation_approval" in policy:
            change = tenant_set_approval_policy(
                principal=principal,
                tenant_id=tenant_id,
                require_activation_approval=policy["require_activation_approval"],
            )
    return change or TenantChange(tenant)


@dataclass(frozen=True)
class SettingsChange:
    settings: PlatformSettings
    change_request: Any = None


def platform_settings_update(
    *, principal: Principal, require_activation_approval: bool | None = None
) -> SettingsChange:
    """PATCH /admin/platform/settings (platform ADMIN). Switching approval on applies at once;
    switching it off is a change request another platform ADMIN approves (DESIGN §14)."""
    require_platform_admin(principal)
    with transaction.atomic():
        row = platform_settings_row(lock=True)
        value = require_activation_approval
        if value is None or row.require_activation_approval == value:
            return SettingsChange(row)
        if row.require_activation_approval and not value:
            change_request = policy_change_request_create(
                principal=principal, tenant=None, require_activation_approval=False, current=True
            )
            return SettingsChange(row, change_request)
        platform_settings_apply(actor=principal.username, row=row, value=value)
    return SettingsChange(row)
