"""Storing one immutable pack version (no validation: see imports.py)."""

import hashlib
from typing import Any

from django.db import IntegrityError, transaction

from onboarding.errors import (
    Conflict,
    finding,
)
from onboarding.principal import Principal, require_platform_admin
from packs.canonical import canonical_json
from packs.models import DomainPack, TenantPack
from packs.versions import version_key
from tenants.access import tenant_for_write


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
    pack = new_pack(
        DomainPack,
        principal=principal,
        version=version,
        content=content,
        warnings=warnings,
        domain=domain,
    )
    return _insert(pack, f"Domain pack {domain}")


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
    pack = new_pack(
        TenantPack,
        principal=principal,
        version=version,
        content=content,
        warnings=warnings,
        tenant=tenant,
    )
    return _insert(pack, f"Tenant pack {tenant_id}")


def new_pack(
    model, *, principal: Principal, version: str, content: dict[str, Any], warnings, **owner
):
    """An unsaved pack row with its checksum and size, from one canonical dump."""
    body = canonical_json(content)
    if model is TenantPack:
        named = content.get("domainName")
        owner["domain"] = named if isinstance(named, str) else ""
    return model(
        version=version,
        version_key=version_key(version),
        content_json=content,
        checksum=hashlib.sha256(body).hexdigest(),
        size_bytes=len(body),
        created_by=principal.username,
        validation_warnings=warnings or [],
        **owner,
    )


def _insert(pack: DomainPack | TenantPack, label: str) -> DomainPack | TenantPack:
    try:
        with transaction.atomic():
            pack.save(force_insert=True)
    except IntegrityError:
        raise version_exists(label, pack.version) from None
    return pack


def pack_label(pack: DomainPack | TenantPack) -> str:
    owner = pack.domain if isinstance(pack, DomainPack) else pack.tenant_id
    return f"{owner} {pack.version}"
