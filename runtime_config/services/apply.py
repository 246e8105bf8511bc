"""`apply_target`: the one transaction step that moves a tenant's active-config pointers. Every
path — activation, rollback, approval of a change request; API, page or command — ends here."""

from django.utils import timezone

from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal
from packs.models import PackStatus
from packs.services import send_pack_status_changed
from runtime_config import signals
from runtime_config.models import ActivationHistory, ConfigChangeRequest, TenantActiveConfig
from runtime_config.push import bump_generation_on_commit
from runtime_config.services.compatibility import blocking_problems
from runtime_config.services.targets import KIND_ROLLBACK, Target, config_snapshot
from tenants.models import Tenant


def lock_config(tenant_id: str) -> tuple[Tenant, TenantActiveConfig | None]:
    """Lock the tenant row, then its active-config row: one order for every writer. The tenant
    lock serialises the first activation (no config row to lock yet) and a concurrent
    suspension. NO KEY UPDATE, so inserts referencing the tenant (history rows) never wait."""
    tenant = Tenant.objects.select_for_update(no_key=True).get(pk=tenant_id)
    config = TenantActiveConfig.objects.select_for_update().filter(tenant_id=tenant_id).first()
    return tenant, config


def apply_target(
    *,
    principal: Principal,
    tenant: Tenant,
    target: Target,
    comment: str,
    kind: str,
    expected_revision: int | None = None,
    change_request: ConfigChangeRequest | None = None,
) -> TenantActiveConfig | None:
    """Move the pointers. Runs inside the caller's transaction (its row locks need one: Django
    refuses select_for_update in autocommit); returns None when the locked state already equals
    the target (a concurrent request got there first)."""
    tenant, config = lock_config(tenant.tenant_id)
    target = locked_target(target)
    problems = blocking_problems(
        tenant=tenant, config=config, target=target, expected_revision=expected_revision
    )
    if problems:
        raise problems[0]
    if target.same_as(config):
        return None
    before = config_snapshot(config)
    now = timezone.now()
    is_new = config is None
    if config is None:
        config = TenantActiveConfig(tenant=tenant, revision=0)
    config.domain = target.domain
    config.domain_pack = target.domain_pack
    config.tenant_pack = target.tenant_pack
    config.activated_at = now
    config.activated_by = principal.username
    config.revision += 1
    config.save(force_insert=is_new)
    promoted = []
    for pack in (target.domain_pack, target.tenant_pack):
        if pack is not None and pack.status == PackStatus.DRAFT:
            pack.status = PackStatus.ACTIVE
            pack.save(update_fields=["status"])
            promoted.append({"pack_type": pack.pack_type, "version": pack.version})
            # A lifecycle change like any other: the pack's own history shows when it went live.
            send_pack_status_changed(
                principal=principal,
                pack=pack,
                before=PackStatus.DRAFT,
                cause={
                    "kind": kind,
                    "tenant_id": tenant.tenant_id,
                    "revision": config.revision,
                    "change_request_id": str(change_request.pk) if change_request else None,
                },
            )
    ActivationHistory.objects.create(
        tenant=tenant,
        revision=config.revision,
        domain=target.domain,
        from_domain_pack_id=before["domain_pack_id"],
        from_tenant_pack_id=before["tenant_pack_id"],
        to_domain_pack=target.domain_pack,
        to_tenant_pack=target.tenant_pack,
        actor=principal.username,
        activated_at=now,
        comment=comment or "",
        kind=kind,
        change_request=change_request,
    )
    send_activated(principal, config, before, kind, comment, change_request, promoted)
    bump_generation_on_commit(f"{config.tenant_id}:{config.revision}")  # push + poll fallback
    return config


def locked_target(target: Target) -> Target:
    """Lock the pack rows and re-read their status, so a concurrent deprecation cannot slip in
    between. Everything else of a pack row is immutable: the rows already read keep their
    content, and the integrity check already made on it (no second 5 MB read and hash)."""
    for pack in (target.domain_pack, target.tenant_pack):
        if pack is not None:
            locked = type(pack).objects.select_for_update(no_key=True).filter(pk=pack.pk)
            pack.status = locked.values_list("status", flat=True).get()
    return target


def send_activated(
    principal, config, before, kind, comment, change_request, promoted, extra=None
) -> None:
    """The `config.activated` event of one tenant; `extra` adds details (a rollout's id)."""
    after = config_snapshot(config)
    verb = "rolled back to" if kind == KIND_ROLLBACK else "activated"
    send_event(
        signals.config_activated,
        TenantActiveConfig,
        DomainEvent(
            action="config.activated",
            actor=principal.username,
            summary=f"Tenant {config.tenant_id} {verb} {config.domain} "
            f"{after['domain_pack_version']} + tenant pack "
            f"{after['tenant_pack_version'] or '(none)'} (revision {config.revision})",
            tenant_id=config.tenant_id,
            object_type="tenant_active_config",
            object_id=config.tenant_id,
            domain=config.domain,
            version=after["domain_pack_version"] or "",
            checksum=after["domain_pack_checksum"] or "",
            details={
                "before": before,
                "after": after,
                "kind": kind,
                "comment": comment or "",
                "change_request_id": str(change_request.pk) if change_request else None,
                # DRAFT packs that became ACTIVE with the activation; each also has its own
                # `pack.status_changed` row, like an explicit status change.
                "promoted_to_active": promoted,
                **(extra or {}),
            },
        ),
    )
