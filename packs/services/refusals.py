"""Refused imports recorded: every refusal of an import — an invalid pack, an unreadable body, a
bad field — leaves one `pack.import_rejected` audit row, written in a transaction of its own so
that it stays although the request fails; never for a caller who could not have imported it."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from onboarding.errors import (
    InvalidInput,
    ServiceError,
    finding,
)
from onboarding.events import DomainEvent, send_event
from onboarding.intake import check_json_value
from onboarding.principal import Principal
from packs import signals
from packs.canonical import checksum
from packs.models import DomainPack, TenantPack
from tenants.models import Tenant

DOMAIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


_VERSION_LABEL_RE = re.compile(r"^\S{1,50}$")


MAX_FINDINGS_IN_AUDIT = 200


def _label(value: Any, pattern: re.Pattern) -> str:
    """A name from a rejected document, fit for an audit column, or "" if it is not one."""
    return value if isinstance(value, str) and pattern.fullmatch(value) else ""


def _send_rejected(
    *,
    principal: Principal,
    pack_type: str,
    reason: str,
    errors: list[dict[str, Any]],
    domain: Any,
    version: Any,
    tenant_id: str | None,
    digest: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Record `pack.import_rejected` in a transaction of its own, so the record stays although
    the request fails."""
    domain, version = _label(domain, DOMAIN_RE), _label(version, _VERSION_LABEL_RE)
    owner = " ".join(part for part in (tenant_id or domain, version) if part)
    with transaction.atomic():
        send_event(
            signals.pack_import_rejected,
            DomainPack if pack_type == "domain" else TenantPack,
            DomainEvent(
                action="pack.import_rejected",
                actor=principal.username,
                summary=f"{pack_type.title()} pack {owner + ' ' if owner else ''}rejected: "
                + (f"{len(errors)} error(s)" if reason == "pack_invalid" else reason),
                tenant_id=tenant_id,
                object_type=f"{pack_type}_pack",
                domain=domain,
                version=version,
                checksum=digest,
                details={
                    "reason": reason,
                    "errors": errors[:MAX_FINDINGS_IN_AUDIT],
                    "error_count": len(errors),
                    **(details or {}),
                },
            ),
        )


def reject_invalid(
    *,
    principal: Principal,
    pack_type: str,
    report: dict[str, Any],
    domain: Any,
    version: Any,
    tenant_id: str | None = None,
) -> InvalidInput:
    """Record the rejection of an invalid pack and return the error to raise."""
    errors = report.get("errors") or []
    _send_rejected(
        principal=principal,
        pack_type=pack_type,
        reason="pack_invalid",
        errors=errors,
        domain=domain,
        version=version,
        tenant_id=tenant_id,
        digest=report.get("checksum", ""),
        details={"warning_count": len(report.get("warnings") or [])},
    )
    error = InvalidInput(
        f"The {pack_type} pack is invalid: {len(errors)} error(s).",
        code="pack_invalid",
        title="Pack is invalid",
        errors=errors,
        extra={"validation": report},
    )
    error.audited = True
    return error


def _may_record_refusal(principal: Principal, pack_type: str, tenant_id: Any) -> bool:
    """Whether a refused import is recorded at all: only for a caller who could have imported
    it (an anonymous or unauthorised request writes nothing), never under a tenant it may not
    see."""
    if pack_type == "domain":
        return principal.is_platform_admin
    if isinstance(tenant_id, str) and tenant_id:
        return principal.can_write_tenant(tenant_id)
    return principal.is_admin_anywhere


def pack_import_refusal_record(
    *,
    principal: Principal,
    pack_type: str,
    error: ServiceError,
    tenant_id: Any = None,
    version: Any = None,
    domain: Any = None,
) -> None:
    """Record an import refused before the import service ran (an unreadable body or upload,
    an invalid request field): the `pack.import_rejected` row every refusal leaves. Nothing is
    written for a caller who may not import such a pack, nor twice for one refusal."""
    if getattr(error, "audited", False) or error.status >= 500:
        return
    if pack_type not in ("domain", "tenant"):
        return
    if not _may_record_refusal(principal, pack_type, tenant_id):
        return
    requested = tenant_id if isinstance(tenant_id, str) else None
    known = (
        requested
        if requested and pack_type == "tenant" and Tenant.objects.filter(pk=requested).exists()
        else None
    )
    _send_rejected(
        principal=principal,
        pack_type=pack_type,
        reason=error.code,
        errors=error.errors or [finding(error.code, "", error.detail)],
        domain=domain,
        version=version,
        tenant_id=known,
        details={"requested_tenant_id": requested} if requested and not known else None,
    )
    error.audited = True


@contextmanager
def refusals_recorded(
    *,
    principal: Principal,
    pack_type: str,
    content: Any,
    version: Any,
    tenant_id: str | None = None,
    domain: Any = None,
) -> Iterator[None]:
    """Every refusal of the import inside becomes a `pack.import_rejected` row with its reason
    (`domain_mismatch`, `invalid_number`, `version_mismatch`, `version_exists`…)."""
    try:
        yield
    except ServiceError as exc:
        if not getattr(exc, "audited", False) and exc.status < 500:
            named = content.get("domainName") if isinstance(content, dict) else None
            stated = content.get("version") if isinstance(content, dict) else None
            _send_rejected(
                principal=principal,
                pack_type=pack_type,
                reason=exc.code,
                errors=exc.errors or [finding(exc.code, "", exc.detail)],
                domain=domain if domain is not None else named,
                version=version if version is not None else stated,
                tenant_id=tenant_id,
                digest=_safe_checksum(content),
            )
            exc.audited = True
        raise


def _safe_checksum(content: Any) -> str:
    """The checksum of a refused document when it has one (not when it broke the intake)."""
    if not isinstance(content, dict):
        return ""
    try:
        check_json_value(content, path="/content")
        return checksum(content)
    except (ServiceError, ValueError, TypeError, RecursionError):
        return ""
