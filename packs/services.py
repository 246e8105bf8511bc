"""Every state change of packs. Each function owns its transaction and sends its signal.

Mapping to the specification's repository operations: create_domain_pack → domain_pack_create,
create_tenant_pack → tenant_pack_create, update_pack_status → pack_set_status (reads live in
packs.selectors)."""

from typing import Any

from django.db import IntegrityError, transaction

from onboarding.errors import Conflict, InvalidInput, finding
from onboarding.events import DomainEvent, send_event
from packs import signals
from packs.canonical import canonical_json, checksum
from packs.models import ALLOWED_TRANSITIONS, DomainPack, PackStatus, TenantPack
from packs.selectors import domain_pack_get, tenant_pack_get
from packs.versions import version_key
from tenants.access import require_platform_admin, tenant_for_write
from tenants.principals import Principal


def version_exists(label: str, version: str) -> Conflict:
    return Conflict(
        f"{label} version {version} already exists with different content.",
        code="version_exists",
        errors=[finding("version_exists", "/version", f"Version {version} already exists.")],
    )


def domain_pack_create(
    *,
    principal: Principal,
    domain: str,
    version: str,
    content: dict[str, Any],
    warnings: list[dict[str, Any]] | None = None,
) -> DomainPack:
    """Store one immutable domain pack version (no validation: see the import service)."""
    require_platform_admin(principal)
    key = version_key(version)
    body = canonical_json(content)
    try:
        with transaction.atomic():
            return DomainPack.objects.create(
                domain=domain,
                version=version,
                version_key=key,
                content_json=content,
                checksum=checksum(content),
                size_bytes=len(body),
                created_by=principal.username,
                validation_warnings=warnings or [],
            )
    except IntegrityError:
        raise version_exists(f"Domain pack {domain}", version) from None


def tenant_pack_create(
    *,
    principal: Principal,
    tenant_id: str,
    version: str,
    content: dict[str, Any],
    warnings: list[dict[str, Any]] | None = None,
) -> TenantPack:
    """Store one immutable tenant pack version (no validation: see the import service)."""
    tenant = tenant_for_write(principal=principal, tenant_id=tenant_id)
    key = version_key(version)
    body = canonical_json(content)
    domain = content.get("domainName") if isinstance(content.get("domainName"), str) else ""
    try:
        with transaction.atomic():
            return TenantPack.objects.create(
                tenant=tenant,
                domain=domain,
                version=version,
                version_key=key,
                content_json=content,
                checksum=checksum(content),
                size_bytes=len(body),
                created_by=principal.username,
                validation_warnings=warnings or [],
            )
    except IntegrityError:
        raise version_exists(f"Tenant pack {tenant_id}", version) from None


def pack_set_status(
    *,
    principal: Principal,
    pack_type: str,
    status: str,
    version: str,
    domain: str | None = None,
    tenant_id: str | None = None,
) -> DomainPack | TenantPack:
    if status not in PackStatus.values:
        raise InvalidInput(
            f"status must be one of {', '.join(PackStatus.values)}.",
            code="invalid_status",
            errors=[finding("invalid_status", "/status", f"Unknown status {status!r}.")],
        )
    with transaction.atomic():
        pack = _pack_for_write(principal, pack_type, version, domain, tenant_id)
        before = pack.status
        if before == status:
            return pack
        if (before, status) not in ALLOWED_TRANSITIONS:
            raise Conflict(
                f"A {before} pack cannot become {status}.",
                code="invalid_transition",
                errors=[finding("invalid_transition", "/status", f"{before} → {status}")],
            )
        if status == PackStatus.DEPRECATED:
            _refuse_if_in_use(pack)
        pack.status = status
        pack.save(update_fields=["status"])
        send_event(
            signals.pack_status_changed,
            type(pack),
            DomainEvent(
                action="pack.status_changed",
                actor=principal.username,
                summary=f"{pack_type.title()} pack {pack_label(pack)} {before} → {status}",
                tenant_id=getattr(pack, "tenant_id", None),
                object_type=f"{pack_type}_pack",
                object_id=str(pack.pk),
                domain=pack.domain,
                version=pack.version,
                checksum=pack.checksum,
                details={"before": {"status": before}, "after": {"status": status}},
            ),
        )
        from runtime_config.cache import bump_generation_on_commit

        bump_generation_on_commit()
    return pack


def pack_label(pack: DomainPack | TenantPack) -> str:
    owner = pack.domain if isinstance(pack, DomainPack) else pack.tenant_id
    return f"{owner} {pack.version}"


def _pack_for_write(principal, pack_type, version, domain, tenant_id):
    if pack_type == "domain":
        pack = domain_pack_get(principal=principal, domain=domain or "", version=version)
        require_platform_admin(principal)
        return DomainPack.objects.select_for_update().get(pk=pack.pk)
    if pack_type == "tenant":
        tenant_for_write(principal=principal, tenant_id=tenant_id or "")
        pack = tenant_pack_get(principal=principal, tenant_id=tenant_id or "", version=version)
        return TenantPack.objects.select_for_update().get(pk=pack.pk)
    raise InvalidInput(f"Unknown pack type {pack_type!r}.", code="invalid_pack_type")


def _refuse_if_in_use(pack: DomainPack | TenantPack) -> None:
    from runtime_config.models import TenantActiveConfig

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
