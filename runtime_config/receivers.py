"""How runtime_config answers the apps below it (docs/architecture.md, "Hooks and signals across
layers"), connected in RuntimeConfigConfig.ready:

- packs' hooks: a tenant's active configuration, the tenants running each pack, and the veto
  on deprecating a pack a tenant runs (409 `pack_in_use`);
- domain signals whose change alters what the runtime serves: a pack's status set by hand, and a
  tenant's suspension or reactivation, reach every serving process after the commit;
- and, inside the app, the push listener's reload of a dropped tenant (runtime.reload_after_push:
  push sits below runtime and does not import it)."""

from onboarding.errors import Conflict, finding
from packs import hooks as pack_hooks
from packs import signals as pack_signals
from packs.models import DomainPack, PackStatus, TenantPack
from packs.services import pack_label
from runtime_config import push, runtime
from runtime_config.models import TenantActiveConfig
from runtime_config.selectors import active_tenants_by_pack
from tenants import signals as tenant_signals


def active_config(
    *, tenant_id: str, lock: bool = False, content: bool = True
) -> TenantActiveConfig | None:
    rows = TenantActiveConfig.objects.filter(tenant_id=tenant_id)
    if lock:
        # Only this row: the packs it points to are read afterwards, unlocked.
        return rows.select_for_update().first()
    rows = rows.select_related("domain_pack", "tenant_pack")
    if not content:
        rows = rows.defer("domain_pack__content_json", "tenant_pack__content_json")
    return rows.first()


def tenants_running(*, principal, pack_type: str, pack_ids: list[int]) -> dict[int, list[str]]:
    field = "domain_pack_id" if pack_type == "domain" else "tenant_pack_id"
    return active_tenants_by_pack(principal=principal, field=field, pack_ids=pack_ids)


def refuse_deprecating_active_pack(sender, pack, before: str, after: str, **kwargs) -> None:
    if after != PackStatus.DEPRECATED:
        return
    field = "domain_pack" if isinstance(pack, DomainPack) else "tenant_pack"
    tenants = sorted(
        TenantActiveConfig.objects.filter(**{field: pack}).values_list("tenant_id", flat=True)
    )
    if tenants:
        raise Conflict(
            f"{pack_label(pack)} is active for {', '.join(tenants)}; "
            "activate another version first.",
            code="pack_in_use",
            errors=[
                finding("pack_in_use", "/status", f"Active for tenant {tenant_id}.")
                for tenant_id in tenants
            ],
            extra={"tenants": tenants},
        )


def pack_status_changed(sender, event=None, **kwargs) -> None:
    # An activation that promotes its DRAFT packs (`cause` names it) publishes its own tenant's
    # change (services/apply.py); a status set by hand may matter to any tenant.
    if "cause" not in event.details:
        push.bump_generation_on_commit()


def tenant_status_changed(sender, event=None, **kwargs) -> None:
    # Suspension and reactivation must reach every serving process.
    push.publish_tenant_change(event.tenant_id)


def connect() -> None:
    push.reload_dropped_with(runtime.reload_after_push)
    pack_hooks.active_config.answer(active_config)
    pack_hooks.tenants_running.answer(tenants_running)
    for model in (DomainPack, TenantPack):
        pack_hooks.pack_status_changing.connect(
            refuse_deprecating_active_pack,
            sender=model,
            dispatch_uid=f"runtime_config.pack_in_use.{model.__name__}",
        )
    pack_signals.pack_status_changed.connect(
        pack_status_changed, dispatch_uid="runtime_config.pack_status_changed"
    )
    tenant_signals.tenant_status_changed.connect(
        tenant_status_changed, dispatch_uid="runtime_config.tenant_status_changed"
    )
