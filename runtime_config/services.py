"""Activation of a (domain pack, tenant pack) pair per tenant, its approval, history and rollback
(DESIGN §6, §8). Every path — API, page, command, approval, rollback — ends in `_apply`, the one
transaction that moves a tenant's active-config pointers."""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from onboarding.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError, finding
from onboarding.events import DomainEvent, send_event
from packs.diff import json_diff
from packs.models import DomainPack, PackStatus, TenantPack
from packs.selectors import pack_integrity_findings
from packs.validation import validate_tenant_pack
from packs.versions import parse_version, version_key
from runtime_config import signals
from runtime_config.cache import bump_generation_on_commit
from runtime_config.models import (
    ActivationHistory,
    ChangeRequestStatus,
    ConfigChangeRequest,
    TenantActiveConfig,
)
from runtime_config.runtime import merge_effective_config
from tenants.access import tenant_for_write
from tenants.identity import same_identity
from tenants.models import Tenant, TenantStatus
from tenants.principals import Principal

KIND_ACTIVATE = "activate"
KIND_ROLLBACK = "rollback"


@dataclass(frozen=True)
class Target:
    """The pair an activation wants, already resolved to pack rows."""

    domain: str
    domain_pack: DomainPack | None
    tenant_pack: TenantPack | None

    def same_as(self, config: TenantActiveConfig | None) -> bool:
        return (
            config is not None
            and config.domain == self.domain
            and config.domain_pack_id == _pk(self.domain_pack)
            and config.tenant_pack_id == _pk(self.tenant_pack)
        )


@dataclass(frozen=True)
class ActivationOutcome:
    """`status` is applied, unchanged, pending (a change request awaits approval) or preview."""

    status: str
    config: TenantActiveConfig | None = None
    change_request: ConfigChangeRequest | None = None
    preview: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.status == "applied"


# ---------------------------------------------------------------------------------------------
# Policy


def activation_requires_approval(tenant: Tenant) -> bool:
    if tenant.require_activation_approval is not None:
        return bool(tenant.require_activation_approval)
    return bool(settings.PACK_ACTIVATION_REQUIRES_APPROVAL)


# ---------------------------------------------------------------------------------------------
# Entry points


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
    current = _current_config(tenant.tenant_id)
    target = _resolve_target(
        tenant=tenant,
        current=current,
        domain=domain,
        domain_pack_version=domain_pack_version,
        tenant_pack_version=tenant_pack_version,
    )
    return _request_change(
        principal=principal,
        tenant=tenant,
        current=current,
        target=target,
        expected_revision=expected_revision,
        comment=comment,
        dry_run=dry_run,
        kind=KIND_ACTIVATE,
    )


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
    current = _current_config(tenant.tenant_id)
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
    return _request_change(
        principal=principal,
        tenant=tenant,
        current=current,
        target=target,
        expected_revision=expected_revision,
        comment=comment or f"Rollback to revision {to_revision}",
        dry_run=dry_run,
        kind=KIND_ROLLBACK,
    )


def change_request_approve(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> tuple[ConfigChangeRequest, TenantActiveConfig]:
    change_request = _change_request_for_review(principal, change_request_id)
    if same_identity(change_request.requested_by, principal.username):
        raise Forbidden(
            "A change request must be approved by someone other than its requester.",
            code="self_approval",
        )
    stale = False
    with transaction.atomic():
        change_request = _lock_pending(change_request.pk)
        tenant, config = _lock_config(change_request.tenant_id)
        revision = config.revision if config else 0
        if revision != change_request.base_revision:
            _close(change_request, ChangeRequestStatus.STALE, principal, comment)
            _send_review_event(
                signals.change_request_stale, "change_request.stale", change_request, principal
            )
            stale = True
        else:
            target = Target(
                domain=change_request.domain,
                domain_pack=change_request.domain_pack,
                tenant_pack=change_request.tenant_pack,
            )
            config = (
                _apply(
                    principal=principal,
                    tenant=tenant,
                    target=target,
                    comment=change_request.comment,
                    kind=change_request.kind,
                    change_request=change_request,
                )
                or config
            )
            _close(change_request, ChangeRequestStatus.APPLIED, principal, comment)
            _send_review_event(
                signals.change_request_approved,
                "change_request.approved",
                change_request,
                principal,
            )
    if stale:
        raise Conflict(
            f"The tenant's configuration moved from revision {change_request.base_revision} "
            "since this change was requested; request it again.",
            code="stale_change_request",
            errors=[
                finding(
                    "stale_change_request",
                    "",
                    f"Base revision {change_request.base_revision}, current {revision}.",
                )
            ],
        )
    return change_request, config


def change_request_reject(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> ConfigChangeRequest:
    change_request = _change_request_for_review(principal, change_request_id)
    with transaction.atomic():
        change_request = _lock_pending(change_request.pk)
        _close(change_request, ChangeRequestStatus.REJECTED, principal, comment)
        _send_review_event(
            signals.change_request_rejected, "change_request.rejected", change_request, principal
        )
    return change_request


def change_request_cancel(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> ConfigChangeRequest:
    change_request = _change_request_visible(principal, change_request_id)
    is_requester = same_identity(change_request.requested_by, principal.username)
    if not is_requester and not principal.can_write_tenant(change_request.tenant_id):
        raise Forbidden(
            "Only the requester or an ADMIN of the tenant may cancel a change request.",
            code="admin_required",
        )
    with transaction.atomic():
        change_request = _lock_pending(change_request.pk)
        _close(change_request, ChangeRequestStatus.CANCELLED, principal, comment)
        _send_review_event(
            signals.change_request_cancelled,
            "change_request.cancelled",
            change_request,
            principal,
        )
    return change_request


# ---------------------------------------------------------------------------------------------
# Resolution


def _current_config(tenant_id: str) -> TenantActiveConfig | None:
    return (
        TenantActiveConfig.objects.select_related("domain_pack", "tenant_pack")
        .filter(tenant_id=tenant_id)
        .first()
    )


def _resolve_target(
    *,
    tenant: Tenant,
    current: TenantActiveConfig | None,
    domain: str | None,
    domain_pack_version: str | None,
    tenant_pack_version: str | None,
) -> Target:
    if tenant_pack_version is not None:
        tenant_pack = _find_pack(
            TenantPack.objects.filter(tenant=tenant),
            tenant_pack_version,
            "/tenant_pack_version",
            f"Tenant pack {tenant.tenant_id}",
        )
    else:
        tenant_pack = current.tenant_pack if current else None
    resolved_domain = domain or _declared_domain(tenant_pack) or (current.domain if current else "")
    if not resolved_domain:
        raise InvalidInput(
            "Name the domain: the tenant has no active configuration and no tenant pack names one.",
            code="domain_required",
            errors=[finding("domain_required", "/domain", "A domain is required.")],
        )
    if domain_pack_version is not None:
        domain_pack = _find_pack(
            DomainPack.objects.filter(domain=resolved_domain),
            domain_pack_version,
            "/domain_pack_version",
            f"Domain pack {resolved_domain}",
        )
    elif current and current.domain == resolved_domain and current.domain_pack:
        domain_pack = current.domain_pack
    else:
        raise InvalidInput(
            f"Name the {resolved_domain} domain pack version to activate.",
            code="domain_pack_version_required",
            errors=[
                finding(
                    "domain_pack_version_required",
                    "/domain_pack_version",
                    f"No {resolved_domain} domain pack is active for this tenant.",
                )
            ],
        )
    return Target(domain=resolved_domain, domain_pack=domain_pack, tenant_pack=tenant_pack)


def _declared_domain(tenant_pack: TenantPack | None) -> str:
    if tenant_pack is None:
        return ""
    name = tenant_pack.content_json.get("domainName") if tenant_pack.content_json else None
    return name if isinstance(name, str) else tenant_pack.domain


def _find_pack(queryset, version: str, path: str, label: str):
    parse_version(version, path)  # over 50 characters or unparseable: 400 invalid_version
    pack = queryset.filter(version_key=version_key(version)).first()
    if pack is None:
        raise InvalidInput(
            f"{label} version {version!r} does not exist.",
            code="unknown_pack_version",
            errors=[finding("unknown_pack_version", path, f"{label} {version!r} not found.")],
        )
    return pack


def _pk(pack) -> int | None:
    return pack.pk if pack is not None else None


# ---------------------------------------------------------------------------------------------
# Checks


def _blocking_problems(
    *,
    tenant: Tenant,
    config: TenantActiveConfig | None,
    target: Target,
    expected_revision: int | None,
) -> list[ServiceError]:
    """Every reason the target may not be applied now, in the order a client should see them."""
    problems: list[ServiceError] = []
    if tenant.status == TenantStatus.SUSPENDED:
        problems.append(
            Conflict(
                f"Tenant {tenant.tenant_id} is suspended.",
                code="tenant_suspended",
                errors=[finding("tenant_suspended", "/tenant_id", "The tenant is suspended.")],
            )
        )
    revision = config.revision if config else 0
    if expected_revision is not None and expected_revision != revision:
        problems.append(revision_conflict(expected_revision, revision))
    if target.same_as(config):
        return problems
    tampered = pack_integrity_findings(
        domain_pack=target.domain_pack, tenant_pack=target.tenant_pack
    )
    if tampered:
        problems.append(
            Conflict(
                "A stored pack fails its checksum.", code="pack_integrity_failure", errors=tampered
            )
        )
    deprecated = _deprecated_findings(target)
    if deprecated:
        problems.append(
            Conflict(
                "A deprecated pack version cannot be activated.",
                code="pack_deprecated",
                errors=deprecated,
            )
        )
    errors = compatibility_errors(target)
    if errors:
        problems.append(
            Conflict(
                f"The tenant pack is not compatible with {target.domain} "
                f"{target.domain_pack.version if target.domain_pack else '(none)'}.",
                code="incompatible_packs",
                errors=errors,
            )
        )
    link_errors, _ = _link_findings(tenant.tenant_id, target)
    if link_errors:
        problems.append(
            Conflict(
                "Linked playbooks would break with this configuration.",
                code="incompatible_playbook_links",
                errors=link_errors,
            )
        )
    return problems


def revision_conflict(expected: int, actual: int) -> Conflict:
    return Conflict(
        f"Expected revision {expected}, but the tenant is at revision {actual}.",
        code="revision_conflict",
        errors=[
            finding("revision_conflict", "/expected_revision", f"Current revision is {actual}.")
        ],
        extra={"current_revision": actual},
    )


def _deprecated_findings(target: Target) -> list[dict[str, Any]]:
    found = []
    for pack, path in (
        (target.domain_pack, "/domain_pack_version"),
        (target.tenant_pack, "/tenant_pack_version"),
    ):
        if pack is not None and pack.status == PackStatus.DEPRECATED:
            found.append(
                finding(
                    "pack_deprecated",
                    path,
                    f"{pack.pack_type.title()} pack {pack.version} is DEPRECATED.",
                    "Reactivate the version (status ACTIVE) or choose another one.",
                )
            )
    return found


def _names(section: Any, key: str) -> set[str]:
    if isinstance(section, dict):
        return {name for name in section if isinstance(name, str)}
    if isinstance(section, list):
        found = set()
        for item in section:
            if isinstance(item, str):
                found.add(item)
            elif isinstance(item, dict):
                for name_key in (key, "name"):
                    if isinstance(item.get(name_key), str):
                        found.add(item[name_key])
                        break
        return found
    return set()


def compatibility_errors(target: Target) -> list[dict[str, Any]]:
    """Every reason the tenant pack does not resolve in the domain pack (paths point into the
    tenant pack). Stands on its own so activation never depends on the validation module."""
    tenant_pack = target.tenant_pack
    if tenant_pack is None:
        return []
    content = tenant_pack.content_json if isinstance(tenant_pack.content_json, dict) else {}
    domain_content = target.domain_pack.content_json if target.domain_pack else {}
    tools = _names(domain_content.get("tools"), "name")
    types = _names(domain_content.get("exceptionTypes"), "exceptionType")
    errors = []
    declared = content.get("domainName")
    if declared != target.domain:
        errors.append(
            finding(
                "domain_mismatch",
                "/domainName",
                f"Tenant pack is for domain {declared!r}, not {target.domain!r}.",
            )
        )
    for index, tool in enumerate(_list(content.get("approvedTools"))):
        if tool not in tools:
            errors.append(_unknown_tool(f"/approvedTools/{index}", tool))
    for index, override in enumerate(_list(content.get("customSeverityOverrides"))):
        errors.extend(_type_finding(override, f"/customSeverityOverrides/{index}", types))
    for index, playbook in enumerate(_list(content.get("customPlaybooks"))):
        errors.extend(_type_finding(playbook, f"/customPlaybooks/{index}", types))
        steps = playbook.get("steps") if isinstance(playbook, dict) else None
        for step_index, step in enumerate(_list(steps)):
            tool = step.get("tool") if isinstance(step, dict) else None
            if isinstance(tool, str) and tool not in tools:
                path = f"/customPlaybooks/{index}/steps/{step_index}/tool"
                errors.append(_unknown_tool(path, tool))
    return errors


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _unknown_tool(path: str, tool: Any) -> dict[str, Any]:
    return finding(
        "unknown_tool", path, f"Tool {tool!r} does not exist in the domain pack.", "Add it there."
    )


def _type_finding(item: Any, path: str, types: set[str]) -> list[dict[str, Any]]:
    exception_type = item.get("exceptionType") if isinstance(item, dict) else None
    if exception_type in types:
        return []
    return [
        finding(
            "unknown_exception_type",
            f"{path}/exceptionType",
            f"Exception type {exception_type!r} does not exist in the domain pack.",
        )
    ]


def _link_findings(tenant_id: str, target: Target) -> tuple[list[dict], list[dict]]:
    if target.domain_pack is None:
        return [], []
    try:
        from packs.playbooks import link_findings_for_pair
    except (ImportError, AttributeError):
        return [], []
    return link_findings_for_pair(
        tenant_id=tenant_id, domain_pack=target.domain_pack, tenant_pack=target.tenant_pack
    )


# ---------------------------------------------------------------------------------------------
# Request → preview, change request or apply


def _request_change(
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
    problems = _blocking_problems(
        tenant=tenant, config=current, target=target, expected_revision=expected_revision
    )
    if dry_run:
        return ActivationOutcome(
            status="preview",
            config=current,
            preview=_preview(tenant, current, target, problems),
        )
    if problems:
        raise problems[0]
    if target.same_as(current):
        return ActivationOutcome(status="unchanged", config=current)
    if activation_requires_approval(tenant):
        return ActivationOutcome(
            status="pending",
            config=current,
            change_request=_change_request_create(
                principal=principal,
                tenant=tenant,
                target=target,
                base_revision=current.revision if current else 0,
                comment=comment,
                kind=kind,
            ),
        )
    with transaction.atomic():
        config = _apply(
            principal=principal,
            tenant=tenant,
            target=target,
            comment=comment,
            kind=kind,
            expected_revision=expected_revision,
        )
    if config is None:
        # A concurrent request applied the same pair while we waited for the lock.
        return ActivationOutcome(status="unchanged", config=_current_config(tenant.tenant_id))
    return ActivationOutcome(status="applied", config=config)


def _lock_config(tenant_id: str) -> tuple[Tenant, TenantActiveConfig | None]:
    """Lock the tenant row, then its active-config row: one order for every writer. The tenant
    lock serialises the first activation (no config row to lock yet) and a concurrent
    suspension. NO KEY UPDATE, so inserts referencing the tenant (history rows) never wait."""
    tenant = Tenant.objects.select_for_update(no_key=True).get(pk=tenant_id)
    config = TenantActiveConfig.objects.select_for_update().filter(tenant_id=tenant_id).first()
    return tenant, config


def _apply(
    *,
    principal: Principal,
    tenant: Tenant,
    target: Target,
    comment: str,
    kind: str,
    expected_revision: int | None = None,
    change_request: ConfigChangeRequest | None = None,
) -> TenantActiveConfig | None:
    """Move the pointers. Runs inside the caller's transaction; returns None when the locked
    state already equals the target (a concurrent request got there first)."""
    tenant, config = _lock_config(tenant.tenant_id)
    target = _locked_target(target)
    problems = _blocking_problems(
        tenant=tenant, config=config, target=target, expected_revision=expected_revision
    )
    if problems:
        raise problems[0]
    if target.same_as(config):
        return None
    before = _snapshot(config)
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
    _send_activated(principal, config, before, kind, comment, change_request, promoted)
    bump_generation_on_commit()
    return config


def _locked_target(target: Target) -> Target:
    """Lock the pack rows and re-read their status, so a concurrent deprecation cannot slip in
    between. Everything else of a pack row is immutable: the rows already read keep their
    content, and the integrity check already made on it (no second 5 MB read and hash)."""
    for pack in (target.domain_pack, target.tenant_pack):
        if pack is not None:
            locked = type(pack).objects.select_for_update(no_key=True).filter(pk=pack.pk)
            pack.status = locked.values_list("status", flat=True).get()
    return target


def _snapshot(config: TenantActiveConfig | None) -> dict[str, Any]:
    if config is None:
        return {
            "domain": None,
            "domain_pack_id": None,
            "domain_pack_version": None,
            "domain_pack_checksum": None,
            "tenant_pack_id": None,
            "tenant_pack_version": None,
            "tenant_pack_checksum": None,
            "revision": 0,
        }
    return {
        "domain": config.domain,
        "domain_pack_id": config.domain_pack_id,
        "domain_pack_version": config.domain_pack.version if config.domain_pack else None,
        "domain_pack_checksum": config.domain_pack.checksum if config.domain_pack else None,
        "tenant_pack_id": config.tenant_pack_id,
        "tenant_pack_version": config.tenant_pack.version if config.tenant_pack else None,
        "tenant_pack_checksum": config.tenant_pack.checksum if config.tenant_pack else None,
        "revision": config.revision,
    }


def _send_activated(principal, config, before, kind, comment, change_request, promoted) -> None:
    after = _snapshot(config)
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
                # DRAFT packs become ACTIVE with the activation, recorded here, not as rows
                # of their own: one change, one audit row.
                "promoted_to_active": promoted,
            },
        ),
    )


# ---------------------------------------------------------------------------------------------
# Change requests


def _change_request_create(
    *,
    principal: Principal,
    tenant: Tenant,
    target: Target,
    base_revision: int,
    comment: str,
    kind: str,
) -> ConfigChangeRequest:
    with transaction.atomic():
        change_request = ConfigChangeRequest.objects.create(
            tenant=tenant,
            domain=target.domain,
            domain_pack=target.domain_pack,
            tenant_pack=target.tenant_pack,
            base_revision=base_revision,
            kind=kind,
            requested_by=principal.username,
            comment=comment or "",
        )
        send_event(
            signals.config_activation_requested,
            ConfigChangeRequest,
            DomainEvent(
                action="config.activation_requested",
                actor=principal.username,
                summary=f"Activation of {_pair_text(change_request)} for {tenant.tenant_id} "
                "requested (awaiting approval)",
                tenant_id=tenant.tenant_id,
                object_type="config_change_request",
                object_id=str(change_request.pk),
                domain=target.domain,
                version=target.domain_pack.version if target.domain_pack else "",
                checksum=target.domain_pack.checksum if target.domain_pack else "",
                details={"change_request": change_request_snapshot(change_request)},
            ),
        )
    return change_request


def _pair_text(change_request: ConfigChangeRequest) -> str:
    domain_version = change_request.domain_pack.version if change_request.domain_pack else "-"
    tenant_version = change_request.tenant_pack.version if change_request.tenant_pack else "-"
    return f"{change_request.domain} {domain_version} + tenant pack {tenant_version}"


def change_request_snapshot(change_request: ConfigChangeRequest) -> dict[str, Any]:
    domain_pack, tenant_pack = change_request.domain_pack, change_request.tenant_pack
    return {
        "id": str(change_request.pk),
        "status": change_request.status,
        "kind": change_request.kind,
        "tenant_id": change_request.tenant_id,
        "domain": change_request.domain,
        "domain_pack_id": change_request.domain_pack_id,
        "domain_pack_version": domain_pack.version if domain_pack else None,
        "domain_pack_checksum": domain_pack.checksum if domain_pack else None,
        "tenant_pack_id": change_request.tenant_pack_id,
        "tenant_pack_version": tenant_pack.version if tenant_pack else None,
        "tenant_pack_checksum": tenant_pack.checksum if tenant_pack else None,
        "base_revision": change_request.base_revision,
        "requested_by": change_request.requested_by,
        "requested_at": change_request.requested_at.isoformat()
        if change_request.requested_at
        else None,
        "reviewed_by": change_request.reviewed_by or None,
        "reviewed_at": change_request.reviewed_at.isoformat()
        if change_request.reviewed_at
        else None,
        "comment": change_request.comment,
        "review_comment": change_request.review_comment,
    }


def _change_request_visible(principal: Principal, change_request_id: Any) -> ConfigChangeRequest:
    missing = NotFound(
        f"Change request {change_request_id} not found.", code="change_request_not_found"
    )
    try:
        change_request = ConfigChangeRequest.objects.select_related(
            "domain_pack", "tenant_pack"
        ).get(pk=change_request_id)
    except (ConfigChangeRequest.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise missing from None
    if not principal.can_read_tenant(change_request.tenant_id):
        raise missing
    return change_request


def _change_request_for_review(principal: Principal, change_request_id: Any):
    change_request = _change_request_visible(principal, change_request_id)
    tenant_for_write(principal=principal, tenant_id=change_request.tenant_id)
    return change_request


def _lock_pending(pk) -> ConfigChangeRequest:
    change_request = (
        ConfigChangeRequest.objects.select_for_update(of=("self",))
        .select_related("domain_pack", "tenant_pack")
        .get(pk=pk)
    )
    if change_request.status != ChangeRequestStatus.PENDING:
        raise Conflict(
            f"Change request {pk} is {change_request.status}, not PENDING.",
            code="not_pending",
            errors=[finding("not_pending", "", f"Status is {change_request.status}.")],
        )
    return change_request


def _close(change_request, status: str, principal: Principal, comment: str) -> None:
    change_request.status = status
    change_request.reviewed_by = principal.username
    change_request.reviewed_at = timezone.now()
    change_request.review_comment = comment or ""
    change_request.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])


def _send_review_event(signal, action: str, change_request, principal: Principal) -> None:
    word = action.split(".")[1]
    send_event(
        signal,
        ConfigChangeRequest,
        DomainEvent(
            action=action,
            actor=principal.username,
            summary=f"Change request for {_pair_text(change_request)} "
            f"({change_request.tenant_id}) {word}",
            tenant_id=change_request.tenant_id,
            object_type="config_change_request",
            object_id=str(change_request.pk),
            domain=change_request.domain,
            version=change_request.domain_pack.version if change_request.domain_pack else "",
            checksum=change_request.domain_pack.checksum if change_request.domain_pack else "",
            details={"change_request": change_request_snapshot(change_request)},
        ),
    )


# ---------------------------------------------------------------------------------------------
# Preview


def _preview(
    tenant: Tenant,
    current: TenantActiveConfig | None,
    target: Target,
    problems: list[ServiceError],
) -> dict[str, Any]:
    before = _snapshot(current)
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
    _, link_warnings = _link_findings(tenant.tenant_id, target) if changed else ([], [])
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
        "effective_config_diff": _effective_diff(current, target),
        "errors": errors,
        "warnings": warnings,
        "requires_approval": requires_approval,
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


def _effective_diff(current: TenantActiveConfig | None, target: Target) -> dict[str, list]:
    old = _effective(current.domain_pack, current.tenant_pack) if current else {}
    return json_diff(old, _effective(target.domain_pack, target.tenant_pack))
