"""`apply_targets`: the apply step for many tenants at once (a rollout's wave, its restore).

One transaction, a handful of statements whatever the number of tenants: the tenant rows and
their active-config rows are locked in one query each (in tenant id order, the order every
writer takes), the pack rows once, the configurations written by one bulk UPDATE and the history
by one bulk INSERT. Every tenant still gets its own revision, its own `config.activated` event
(audit row and webhook event, with `details` the caller adds, e.g. `rollout_id`) and its own push
message; the audit rows and webhook events are written together (`batched_writes`). A tenant
failing a check is skipped with its reason; nothing of it is written."""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.utils import timezone

from onboarding.events import batched_writes
from onboarding.principal import Principal
from packs.models import DomainPack, PackStatus, PlaybookLink, TenantPack
from packs.services import send_pack_status_changed
from runtime_config.models import (
    ActivationHistory,
    ChangeRequestStatus,
    ConfigChangeRequest,
    TenantActiveConfig,
)
from runtime_config.push import bump_generation_on_commit_many
from runtime_config.services.apply import send_activated
from runtime_config.services.compatibility import blocking_problems
from runtime_config.services.targets import Target, config_snapshot
from tenants.models import Tenant


@dataclass
class BatchOutcome:
    # tenant_id -> (revision before, revision after)
    applied: dict[str, tuple[int, int]] = field(default_factory=dict)
    # tenant_id -> "code: detail"
    skipped: dict[str, str] = field(default_factory=dict)
    # tenant_id -> the configuration before (its pair), for a later restore
    before: dict[str, dict[str, Any]] = field(default_factory=dict)


def apply_targets(
    *,
    principal: Principal,
    targets: dict[str, Target],
    comment: str,
    kind: str,
    details: dict[str, Any] | None = None,
    expected_revisions: dict[str, int] | None = None,
    refuse_pending: bool = True,
) -> BatchOutcome:
    """Apply `targets` ({tenant_id: Target}) inside the caller's transaction. A tenant whose
    locked state already equals its target is skipped (`unchanged`); with `refuse_pending`, a
    tenant with a change request waiting (PENDING or SCHEDULED) is skipped (`pending_request`)."""
    outcome = BatchOutcome()
    ids = sorted(targets)
    if not ids:
        return outcome
    tenants = {
        tenant.pk: tenant
        for tenant in Tenant.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
    }
    configs = {
        config.tenant_id: config
        for config in TenantActiveConfig.objects.select_for_update()
        .filter(tenant_id__in=ids)
        .order_by("tenant_id")
    }
    attach_packs(configs.values())
    pending = set()
    if refuse_pending:
        pending = set(
            ConfigChangeRequest.objects.filter(
                tenant_id__in=ids,
                status__in=(ChangeRequestStatus.PENDING, ChangeRequestStatus.SCHEDULED),
            ).values_list("tenant_id", flat=True)
        )
    _lock_packs(targets)
    linked = set(PlaybookLink.objects.filter(tenant_id__in=ids).values_list("tenant_id", flat=True))
    now = timezone.now()
    changed: list[TenantActiveConfig] = []
    created: list[TenantActiveConfig] = []
    history: list[ActivationHistory] = []
    events = []
    tenant_pack_before: dict[str, int | None] = {}
    for tenant_id in ids:
        tenant = tenants.get(tenant_id)
        if tenant is None:
            outcome.skipped[tenant_id] = "tenant_not_found: the tenant no longer exists."
            continue
        config = configs.get(tenant_id)
        target = targets[tenant_id]
        reason = _skip_reason(tenant, config, target, pending, expected_revisions, linked)
        if reason:
            outcome.skipped[tenant_id] = reason
            continue
        before = config_snapshot(config)
        tenant_pack_before[tenant_id] = before["tenant_pack_id"]
        is_new = config is None
        if is_new:
            config = TenantActiveConfig(tenant=tenant, revision=0)
        config.domain = target.domain
        config.domain_pack = target.domain_pack
        config.tenant_pack = target.tenant_pack
        config.activated_at = now
        config.activated_by = principal.username
        config.revision += 1
        (created if is_new else changed).append(config)
        history.append(
            ActivationHistory(
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
            )
        )
        outcome.applied[tenant_id] = (before["revision"], config.revision)
        outcome.before[tenant_id] = before
        events.append((config, before))
    TenantActiveConfig.objects.bulk_create(created, batch_size=1000)
    _update_configs(changed, now, principal.username, tenant_pack_before)
    ActivationHistory.objects.bulk_create(history, batch_size=1000)
    with batched_writes():
        promoted = _promote_drafts(principal, events, kind)
        for config, before in events:
            send_activated(principal, config, before, kind, comment, None, promoted, details)
    bump_generation_on_commit_many([f"{c.tenant_id}:{c.revision}" for c, _ in events])
    return outcome


def attach_packs(configs) -> None:
    """Each distinct pack row read once: a wave's tenants mostly share their domain pack, whose
    content a join would fetch and parse again for every tenant."""
    for attribute, model in (("domain_pack", DomainPack), ("tenant_pack", TenantPack)):
        ids = {getattr(config, f"{attribute}_id") for config in configs} - {None}
        packs = model.objects.in_bulk(ids) if ids else {}
        for config in configs:
            pack_id = getattr(config, f"{attribute}_id")
            if pack_id is not None:
                setattr(config, attribute, packs[pack_id])


def _update_configs(changed, now, username: str, tenant_pack_before) -> None:
    """One UPDATE per distinct new pair (a wave: one), `revision = revision + 1` (the rows are
    locked, so it is the revision computed above); a tenant pack that stays is not rewritten."""
    groups: dict[tuple, list[str]] = {}
    for config in changed:
        stays = tenant_pack_before[config.tenant_id] == config.tenant_pack_id
        key = (config.domain, config.domain_pack_id, None if stays else (config.tenant_pack_id,))
        groups.setdefault(key, []).append(config.tenant_id)
    for (domain, domain_pack_id, tenant_pack), tenant_ids in groups.items():
        values = {
            "domain": domain,
            "domain_pack_id": domain_pack_id,
            "activated_at": now,
            "activated_by": username,
            "revision": F("revision") + 1,
        }
        if tenant_pack is not None:
            values["tenant_pack_id"] = tenant_pack[0]
        TenantActiveConfig.objects.filter(tenant_id__in=tenant_ids).update(**values)


def _lock_packs(targets: dict[str, Target]) -> None:
    """Lock every pack row the batch names (one query per pack table) and re-read its status,
    as `locked_target` does for one tenant: a concurrent deprecation cannot slip in."""
    for attribute in ("domain_pack", "tenant_pack"):
        packs = [getattr(t, attribute) for t in targets.values() if getattr(t, attribute)]
        if not packs:
            continue
        model = type(packs[0])
        statuses = dict(
            model.objects.select_for_update(no_key=True)
            .filter(pk__in={pack.pk for pack in packs})
            .order_by("pk")
            .values_list("pk", "status")
        )
        for pack in packs:
            pack.status = statuses[pack.pk]


def _skip_reason(tenant, config, target, pending, expected_revisions, linked) -> str:
    if target.same_as(config):
        return "unchanged: the tenant already runs this configuration."
    if tenant.tenant_id in pending:
        return "pending_request: a change request for this tenant awaits approval or its time."
    expected = (expected_revisions or {}).get(tenant.tenant_id)
    problems = blocking_problems(
        tenant=tenant,
        config=config,
        target=target,
        expected_revision=expected,
        has_links=tenant.tenant_id in linked,
    )
    if problems:
        first = problems[0]
        messages = [str(item.get("message", "")) for item in first.errors if item.get("message")]
        extra = f" ({' '.join(messages[:3])})" if messages else ""
        return f"{first.code}: {first.detail}{extra}"[:2000]
    return ""


def _promote_drafts(principal, events, kind) -> list[dict[str, Any]]:
    """A DRAFT pack the batch activates becomes ACTIVE once, with its own status row."""
    promoted = []
    seen = set()
    for config, _ in events:
        for pack in (config.domain_pack, config.tenant_pack):
            if pack is None or pack.pk in seen or pack.status != PackStatus.DRAFT:
                continue
            seen.add(pack.pk)
            pack.status = PackStatus.ACTIVE
            pack.save(update_fields=["status"])
            promoted.append({"pack_type": pack.pack_type, "version": pack.version})
            send_pack_status_changed(
                principal=principal,
                pack=pack,
                before=PackStatus.DRAFT,
                cause={"kind": kind, "tenant_id": config.tenant_id, "revision": config.revision},
            )
    return promoted
