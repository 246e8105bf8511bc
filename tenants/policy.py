"""Whether activation approval applies (DESIGN §14): the tenant's own policy, else the global
setting in the `platform_settings` row. Every process, command and worker reads the row, never the
environment: PACK_ACTIVATION_REQUIRES_APPROVAL only seeds it (migration tenants 0005)."""

from django.conf import settings
from django.db import connection

from onboarding.events import DomainEvent, send_event
from tenants import signals
from tenants.models import PlatformSettings, Tenant

_UNSET = object()


def platform_settings_row(*, lock: bool = False) -> PlatformSettings:
    """The one row; `lock` takes it FOR UPDATE (a change of the global setting)."""
    queryset = PlatformSettings.objects.select_for_update() if lock else PlatformSettings.objects
    row = queryset.filter(pk=1).first()
    if row is None:
        # Seeded by the migration; a database emptied since (a test flush) is seeded the same way.
        row, _ = PlatformSettings.objects.get_or_create(
            pk=1,
            defaults={
                "require_activation_approval": bool(settings.PACK_ACTIVATION_REQUIRES_APPROVAL),
                "updated_by": "seed",
            },
        )
        if lock:
            row = PlatformSettings.objects.select_for_update().get(pk=1)
    return row


def share_platform_settings() -> None:
    """Inside a transaction that decides by the global setting: hold it FOR SHARE, so a
    concurrent change of the setting waits for this decision to commit (and this one for it).
    SQLite serialises writers anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM platform_settings WHERE id = 1 FOR SHARE")


def global_approval_required() -> bool:
    return platform_settings_row().require_activation_approval


def approval_applies(
    tenant: Tenant, *, tenant_policy=_UNSET, global_required: bool | None = None
) -> bool:
    """With `tenant_policy` / `global_required`: what it would be after that change."""
    policy = tenant.require_activation_approval if tenant_policy is _UNSET else tenant_policy
    if policy is not None:
        return bool(policy)
    if global_required is None:
        global_required = global_approval_required()
    return bool(global_required)


POLICY_WORDS = {None: "follow global setting", True: "required", False: "not required"}


def tenant_snapshot(tenant: Tenant) -> dict:
    return {
        "tenant_id": tenant.tenant_id,
        "name": tenant.name,
        "status": tenant.status,
        "require_activation_approval": tenant.require_activation_approval,
    }


def platform_settings_snapshot(row: PlatformSettings) -> dict:
    return {
        "require_activation_approval": row.require_activation_approval,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        "updated_by": row.updated_by,
    }


def tenant_policy_apply(
    *, actor: str, tenant: Tenant, value: bool | None, change_request_id: str | None = None
) -> Tenant:
    """Set a (locked) tenant's policy and record it, inside the caller's transaction: a
    strengthening at once, a weakening when its change request is approved."""
    before = tenant_snapshot(tenant)
    tenant.require_activation_approval = value
    tenant.save(update_fields=["require_activation_approval", "updated_at"])
    send_event(
        signals.tenant_policy_changed,
        Tenant,
        DomainEvent(
            action="tenant.policy_changed",
            actor=actor,
            summary=f"Tenant {tenant.tenant_id} activation approval: {POLICY_WORDS[value]}",
            tenant_id=tenant.tenant_id,
            object_type="tenant",
            object_id=tenant.tenant_id,
            details={
                "before": before,
                "after": tenant_snapshot(tenant),
                "change_request_id": change_request_id,
            },
        ),
    )
    return tenant


def platform_settings_apply(
    *, actor: str, row: PlatformSettings, value: bool, change_request_id: str | None = None
) -> PlatformSettings:
    """Set the (locked) global setting and record it (`platform.settings_changed`)."""
    before = platform_settings_snapshot(row)
    row.require_activation_approval = value
    row.updated_by = actor
    row.save(update_fields=["require_activation_approval", "updated_by", "updated_at"])
    send_event(
        signals.platform_settings_changed,
        PlatformSettings,
        DomainEvent(
            action="platform.settings_changed",
            actor=actor,
            summary=f"Global activation approval: {POLICY_WORDS[value]}",
            tenant_id=None,
            object_type="platform_settings",
            object_id="1",
            details={
                "before": before,
                "after": platform_settings_snapshot(row),
                "change_request_id": change_request_id,
            },
        ),
    )
    return row
