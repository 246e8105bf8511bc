"""Every state change of packs. Each function owns its transaction and sends its signal.

Mapping to the specification's repository operations: create_domain_pack → domain_pack_create,
create_tenant_pack → tenant_pack_create, update_pack_status → pack_set_status (reads live in
packs.selectors)."""

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from onboarding.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    finding,
)
from onboarding.events import DomainEvent, send_event
from onboarding.intake import check_json_value
from onboarding.principal import Principal, require_any_role, require_platform_admin
from packs import hooks, playbooks, signals
from packs.canonical import canonical_json, checksum
from packs.models import ALLOWED_TRANSITIONS, DomainPack, PackStatus, PlaybookLink, TenantPack
from packs.selectors import (
    domain_pack_content,
    domain_pack_get,
    domain_pack_resolve,
    playbook_link_get,
    tenant_pack_get,
)
from packs.validation import validate_domain_pack, validate_tenant_pack
from packs.versions import next_version, parse_version, version_key
from tenants.access import tenant_for_read, tenant_for_write
from tenants.models import Tenant


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
    pack = _new_pack(
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
    pack = _new_pack(
        TenantPack,
        principal=principal,
        version=version,
        content=content,
        warnings=warnings,
        tenant=tenant,
    )
    return _insert(pack, f"Tenant pack {tenant_id}")


def _new_pack(
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
        # The apps above may refuse (a pack in use, one a waiting request names): packs.hooks.
        hooks.pack_status_changing.send(sender=type(pack), pack=pack, before=before, after=status)
        pack.status = status
        pack.save(update_fields=["status"])
        send_pack_status_changed(principal=principal, pack=pack, before=before)
    return pack


def send_pack_status_changed(
    *,
    principal: Principal,
    pack: DomainPack | TenantPack,
    before: str,
    cause: dict[str, Any] | None = None,
) -> None:
    """The `pack.status_changed` event of a status already saved, inside the caller's
    transaction: an explicit change, or the DRAFT → ACTIVE promotion of an activation (`cause`
    then names the activation)."""
    pack_type = pack.pack_type
    details: dict[str, Any] = {"before": {"status": before}, "after": {"status": pack.status}}
    if cause:
        details["cause"] = cause
    send_event(
        signals.pack_status_changed,
        type(pack),
        DomainEvent(
            action="pack.status_changed",
            actor=principal.username,
            summary=f"{pack_type.title()} pack {pack_label(pack)} {before} → {pack.status}"
            + (f" ({cause['kind']})" if cause and cause.get("kind") else ""),
            tenant_id=getattr(pack, "tenant_id", None),
            object_type=f"{pack_type}_pack",
            object_id=str(pack.pk),
            domain=pack.domain,
            version=pack.version,
            checksum=pack.checksum,
            details=details,
        ),
    )


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


# --- import and validation (DESIGN §6, §7) ---

_DOMAIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_VERSION_LABEL_RE = re.compile(r"^\S{1,50}$")
_MAX_FINDINGS_IN_AUDIT = 200
_STORE_ATTEMPTS = 10
# First key of the two-key advisory lock that serialises imports without a version per owner
# (the audit chain uses the one-key form, so the two cannot collide).
_IMPORT_LOCK_CLASS = 7301
DUPLICATE_CONTENT = "duplicate_content"


@dataclass(frozen=True)
class ImportResult:
    pack: DomainPack | TenantPack
    report: dict[str, Any]
    created: bool


def _check_content(content: Any) -> None:
    """The strict intake for an already-parsed document, plus the size limit of a pack."""
    if not isinstance(content, dict):
        raise InvalidInput(
            "content must be a JSON object.",
            code="not_an_object",
            errors=[finding("wrong_type", "/content", "Expected a JSON object.")],
        )
    check_json_value(content, path="/content")
    size = len(canonical_json(content))
    if size > settings.PACK_MAX_BYTES:
        raise PayloadTooLarge(
            f"The pack is {size} bytes; the limit is PACK_MAX_BYTES={settings.PACK_MAX_BYTES}.",
            errors=[finding("too_large", "/content", f"{size} bytes")],
        )


def _resolve_version(
    requested: str | None, content: dict[str, Any], latest: str | None
) -> tuple[str, bool]:
    """(version, generated): from the request, else the content's `version`, else the next one."""
    if requested is not None:
        parse_version(requested, "/version")
        return requested, False
    if "version" in content:
        parse_version(content["version"], "/content/version")
        return content["version"], False
    return next_version(latest), True


def _check_domain(domain: Any, path: str) -> None:
    if not isinstance(domain, str) or not _DOMAIN_RE.fullmatch(domain):
        raise InvalidInput(
            f"domain {domain!r} must match {_DOMAIN_RE.pattern}.",
            code="invalid_domain",
            errors=[finding("invalid_domain", path, "Invalid domain name.")],
        )


def _report_with_checksum(report: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    report.setdefault("checksum", checksum(content))
    return report


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
    domain, version = _label(domain, _DOMAIN_RE), _label(version, _VERSION_LABEL_RE)
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
                    "errors": errors[:_MAX_FINDINGS_IN_AUDIT],
                    "error_count": len(errors),
                    **(details or {}),
                },
            ),
        )


def _reject(
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
def _refusals_recorded(
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


def _existing_result(
    existing: DomainPack | TenantPack, version: str, digest: str, report: dict[str, Any], label: str
) -> ImportResult:
    # The same spelling and the same content is a repeat; anything else under an equal version
    # (another spelling of it, or other content) is a conflict (DESIGN §7).
    if existing.version == version and existing.checksum == digest:
        return ImportResult(pack=existing, report=report, created=False)
    raise version_exists(label, existing.version)


def _store(
    *,
    principal: Principal,
    pack_type: str,
    versions: QuerySet,
    requested_version: str | None,
    content: dict[str, Any],
    report: dict[str, Any],
    build: Callable[[str], DomainPack | TenantPack],
    label: str,
    owner: str,
) -> ImportResult:
    """Create the row and send `pack.imported` in one transaction. `versions` are the pack rows
    of the same owner (one domain, or one tenant).

    Concurrent imports of one named version meet at the unique constraint: the loser re-reads
    and answers 200 or 409. An import without a version takes the next one after the newest:
    on PostgreSQL a transaction-scoped advisory lock per owner makes those imports take turns,
    so each gets its own; SQLite has one writer at a time, and a loser simply retries."""

    # Only checksums are compared: decoding a stored multi-megabyte document would be waste.
    versions = versions.defer("content_json")
    digest = report.get("checksum") or checksum(content)
    auto = requested_version is None and "version" not in content
    version = requested_version or ""
    for _attempt in range(_STORE_ATTEMPTS):
        try:
            # One transaction, no savepoint: the row and its `pack.imported` audit row.
            with transaction.atomic():
                if auto:
                    _lock_owner(pack_type, owner)
                newest = versions.order_by("-version_key").first()
                version, generated = _resolve_version(
                    requested_version, content, newest.version if newest else None
                )
                if generated and newest is not None and newest.checksum == digest:
                    return ImportResult(pack=newest, report=report, created=False)
                # A generated version sorts after the newest, so only a named one can exist.
                existing = (
                    None if generated else versions.filter(version_key=version_key(version)).first()
                )
                if existing is not None:
                    return _existing_result(existing, version, digest, report, label)
                _warn_if_duplicate(report, versions.filter(checksum=digest))
                pack = build(version)
                pack.save(force_insert=True)
                _send_imported(principal, pack_type, pack, report)
            return ImportResult(pack=pack, report=report, created=True)
        except IntegrityError:
            if not _version_taken(versions, version):
                raise
            # Lost a race for this version: the next round re-reads what the winner stored.
    raise version_exists(label, version)


def _warn_if_duplicate(report: dict[str, Any], same_content: QuerySet) -> None:
    """Identical content under a new version is accepted, with a `duplicate_content` warning
    naming the newest version that already holds it."""
    twin = same_content.order_by("-version_key").values_list("version", flat=True).first()
    warnings = report.setdefault("warnings", [])
    warnings[:] = [item for item in warnings if item.get("code") != DUPLICATE_CONTENT]
    if twin is None:
        return
    warnings.append(
        finding(
            DUPLICATE_CONTENT,
            "/content",
            f"The content is identical to version {twin} (same checksum).",
            f"Version {twin} already holds this document; activate it instead of a copy.",
        )
    )


def _version_taken(versions: QuerySet, version: str) -> bool:
    return versions.filter(version_key=version_key(version)).exists()


def _lock_owner(pack_type: str, owner: str) -> None:
    """Serialise the imports of one owner until the transaction ends (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            [_IMPORT_LOCK_CLASS, f"{pack_type}:{owner}"],
        )


def _send_imported(
    principal: Principal, pack_type: str, pack: DomainPack | TenantPack, report: dict[str, Any]
) -> None:
    warnings = report.get("warnings") or []
    send_event(
        signals.pack_imported,
        type(pack),
        DomainEvent(
            action="pack.imported",
            actor=principal.username,
            summary=f"{pack_type.title()} pack {pack_label(pack)} imported"
            + (f" with {len(warnings)} warning(s)" if warnings else ""),
            tenant_id=getattr(pack, "tenant_id", None),
            object_type=f"{pack_type}_pack",
            object_id=str(pack.pk),
            domain=pack.domain,
            version=pack.version,
            checksum=pack.checksum,
            details={
                "after": {
                    "version": pack.version,
                    "checksum": pack.checksum,
                    "size_bytes": pack.size_bytes,
                    "status": pack.status,
                },
                "warnings": warnings[:_MAX_FINDINGS_IN_AUDIT],
                "checked_against": report.get("checked_against"),
            },
        ),
    )


def domain_pack_import(
    *,
    principal: Principal,
    content: dict[str, Any],
    version: str | None = None,
    domain: str | None = None,
) -> ImportResult:
    """Validate and store a domain pack version (DESIGN §6 POST /admin/packs/domain/import).
    Every refusal after the permission check is a `pack.import_rejected` row."""
    require_platform_admin(principal)
    with _refusals_recorded(
        principal=principal, pack_type="domain", content=content, version=version, domain=domain
    ):
        return _domain_pack_import(
            principal=principal, content=content, version=version, domain=domain
        )


def _domain_pack_import(*, principal, content, version, domain) -> ImportResult:
    _check_content(content)
    version = _agreed_version(version, content)
    named = content.get("domainName")
    if domain is not None:
        _check_domain(domain, "/domain")
        if isinstance(named, str) and named != domain:
            raise InvalidInput(
                f"domain {domain!r} differs from the content's domainName {named!r}.",
                code="domain_mismatch",
                errors=[finding("domain_mismatch", "/content/domainName", f"Expected {domain!r}.")],
            )
    domain = domain if domain is not None else named
    report = _report_with_checksum(validate_domain_pack(content), content)
    if not report.get("valid"):
        raise _reject(
            principal=principal,
            pack_type="domain",
            report=report,
            domain=domain,
            version=version,
        )
    _check_domain(domain, "/content/domainName")

    return _store(
        principal=principal,
        pack_type="domain",
        versions=DomainPack.objects.filter(domain=domain),
        requested_version=version,
        content=content,
        report=report,
        build=lambda v: _new_pack(
            DomainPack,
            principal=principal,
            version=v,
            content=content,
            warnings=report.get("warnings"),
            domain=domain,
        ),
        label=f"Domain pack {domain}",
        owner=domain,
    )


def _agreed_version(requested: str | None, content: dict[str, Any]) -> str | None:
    """The version to store, when one is named: the request's `version` and the content's must
    agree (equal by parse), and then the content's spelling is kept, so that the row never
    names another version than the document it stores. When only the request names one, the
    document is stored as sent (it claims no version, and its checksum stays the caller's)."""
    if requested is None or "version" not in content:
        # A content version alone is checked by validation (with the rest of the document's
        # findings) and parsed when stored.
        if requested is not None:
            parse_version(requested, "/version")
        return requested
    parse_version(requested, "/version")
    stated = content["version"]
    parse_version(stated, "/content/version")
    if version_key(requested) != version_key(stated):
        message = f"version {requested!r} differs from the content's version {stated!r}."
        raise InvalidInput(
            message,
            code="version_mismatch",
            errors=[
                finding("version_mismatch", "/version", message),
                finding("version_mismatch", "/content/version", message),
            ],
            extra={"version": requested, "content_version": stated},
        )
    return stated


def _resolve_domain_pack(
    *, principal: Principal, content: dict[str, Any], tenant_id: str | None, version: str | None
) -> DomainPack | None:
    domain = content.get("domainName")
    if not isinstance(domain, str) or not domain:
        return None
    try:
        return domain_pack_resolve(
            principal=principal, domain=domain, version=version, tenant_id=tenant_id
        )
    except NotFound:
        raise InvalidInput(
            f"Domain pack {domain} {version} does not exist.",
            code="unknown_pack_version",
            errors=[
                finding(
                    "unknown_pack_version",
                    "/domain_pack_version",
                    f"No version {version!r} of domain {domain!r}.",
                )
            ],
        ) from None


def _validate_tenant(
    *, principal: Principal, content: dict[str, Any], tenant_id: str | None, version: str | None
) -> dict[str, Any]:
    if version is not None:
        parse_version(version, "/domain_pack_version")
    against = _resolve_domain_pack(
        principal=principal, content=content, tenant_id=tenant_id, version=version
    )
    report = validate_tenant_pack(
        content,
        domain_pack_content=domain_pack_content(against) if against else None,
        checked_against={"domain": against.domain, "version": against.version} if against else None,
    )
    return _report_with_checksum(report, content)


def tenant_pack_import(
    *,
    principal: Principal,
    tenant_id: str,
    content: dict[str, Any],
    version: str | None = None,
    domain_pack_version: str | None = None,
) -> ImportResult:
    """Validate a tenant pack against the domain pack it would run with, and store it. Every
    refusal after the permission check is a `pack.import_rejected` row; an unknown tenant the
    caller may see is recorded without a tenant (nothing is written about one it may not)."""
    try:
        tenant = tenant_for_write(principal=principal, tenant_id=tenant_id)
    except NotFound as exc:
        if principal.can_read_tenant(tenant_id):
            pack_import_refusal_record(
                principal=principal,
                pack_type="tenant",
                error=exc,
                tenant_id=tenant_id,
                version=version,
                domain=content.get("domainName") if isinstance(content, dict) else None,
            )
        raise
    with _refusals_recorded(
        principal=principal,
        pack_type="tenant",
        content=content,
        version=version,
        tenant_id=tenant.tenant_id,
    ):
        return _tenant_pack_import(
            principal=principal,
            tenant=tenant,
            content=content,
            version=version,
            domain_pack_version=domain_pack_version,
        )


def _tenant_pack_import(
    *, principal, tenant: Tenant, content, version, domain_pack_version
) -> ImportResult:
    tenant_id = tenant.tenant_id
    _check_content(content)
    version = _agreed_version(version, content)
    named = content.get("tenantId")
    if named is not None and named != tenant.tenant_id:
        raise InvalidInput(
            f"tenant_id {tenant_id!r} differs from the content's tenantId {named!r}.",
            code="tenant_mismatch",
            errors=[finding("tenant_mismatch", "/content/tenantId", f"Expected {tenant_id!r}.")],
        )
    report = _validate_tenant(
        principal=principal, content=content, tenant_id=tenant_id, version=domain_pack_version
    )
    if not report.get("valid"):
        raise _reject(
            principal=principal,
            pack_type="tenant",
            report=report,
            domain=content.get("domainName"),
            version=version,
            tenant_id=tenant_id,
        )
    if "domainName" in content:
        _check_domain(content["domainName"], "/content/domainName")
    against = report.get("checked_against") or {}

    return _store(
        principal=principal,
        pack_type="tenant",
        versions=TenantPack.objects.filter(tenant_id=tenant_id),
        requested_version=version,
        content=content,
        report=report,
        build=lambda v: _new_pack(
            TenantPack,
            principal=principal,
            version=v,
            content=content,
            warnings=report.get("warnings"),
            tenant=tenant,
            validated_against_version=against.get("version") or "",
        ),
        label=f"Tenant pack {tenant_id}",
        owner=tenant.tenant_id,
    )


def pack_validate(
    *,
    principal: Principal,
    pack_type: str,
    content: dict[str, Any],
    tenant_id: str | None = None,
    domain_pack_version: str | None = None,
) -> dict[str, Any]:
    """The validation report of a document, valid or not; nothing is written."""

    require_any_role(principal)
    if tenant_id is not None:
        tenant_for_read(principal=principal, tenant_id=tenant_id)
    _check_content(content)
    if pack_type == "domain":
        return _report_with_checksum(validate_domain_pack(content), content)
    if pack_type == "tenant":
        return _validate_tenant(
            principal=principal, content=content, tenant_id=tenant_id, version=domain_pack_version
        )
    raise InvalidInput(
        f"pack_type must be domain or tenant, not {pack_type!r}.",
        code="invalid_pack_type",
        errors=[finding("invalid_pack_type", "/pack_type", "Expected domain or tenant.")],
    )


# --- playbook links ---


def _link_exists(tenant_id: str, domain: str, playbook_id: str) -> Conflict:
    message = f"Playbook {playbook_id} is already linked to {tenant_id} for {domain}."
    return Conflict(
        message,
        code="link_exists",
        errors=[finding("link_exists", "/playbook_id", message)],
    )


def playbook_link_create(
    *,
    principal: Principal,
    tenant_id: str,
    playbook_id: str,
    domain: str | None = None,
    domain_pack_version: str | None = None,
):
    """Link a playbook to a tenant and domain, following the tenant's active domain pack version
    or pinned to `domain_pack_version`. An incompatible playbook is refused with every reason."""
    with transaction.atomic():
        tenant = tenant_for_write(principal=principal, tenant_id=tenant_id)
        # Lock what activation locks (DESIGN §8), in its order: the active-config row, else the
        # tenant row. A concurrent activation then checks this link, or this waits for it.
        active = hooks.active_config(tenant_id=tenant.tenant_id, lock=True)
        if active is None:
            tenant_for_write(principal=principal, tenant_id=tenant_id, lock=True)
        domain = domain or (active.domain if active is not None else None)
        if not domain:
            raise playbooks.domain_required()
        pinned = None
        if domain_pack_version:
            pinned = domain_pack_get(
                principal=principal, domain=domain, version=domain_pack_version
            )
        pair = playbooks.pair_for_tenant(tenant_id=tenant.tenant_id, domain=domain, active=active)
        base = pinned or pair.domain_pack
        entries = playbooks.registry_for_pair(base, pair.tenant_pack)
        playbook = playbooks.find_playbook(entries, playbook_id)
        if playbook is None:
            reason = playbooks.playbook_not_found(playbook_id, base, pair.tenant_pack)
            raise NotFound(reason["message"], code="playbook_not_found", errors=[reason])
        links = PlaybookLink.objects.filter(tenant=tenant, domain=domain)
        if links.filter(playbook_id=playbook_id).exists():
            raise _link_exists(tenant.tenant_id, domain, playbook_id)
        reasons = playbooks.compatibility_reasons(
            playbook, domain_pack=base, tenant_pack=pair.tenant_pack
        )
        if reasons:
            raise Conflict(
                f"Playbook {playbook_id} is incompatible with the tenant's packs.",
                code="incompatible_playbook",
                errors=reasons,
            )
        try:
            with transaction.atomic():
                link = PlaybookLink.objects.create(
                    tenant=tenant,
                    domain=domain,
                    playbook_id=playbook_id,
                    domain_pack=pinned,
                    created_by=principal.username,
                )
        except IntegrityError:
            raise _link_exists(tenant.tenant_id, domain, playbook_id) from None
        _send_link_event(
            signals.playbook_linked, "playbook.linked", principal, link, base, playbook
        )
    return link


def playbook_link_delete(*, principal: Principal, link_id: int) -> None:
    with transaction.atomic():
        link = playbook_link_get(principal=principal, link_id=link_id, lock=True)
        tenant_for_write(principal=principal, tenant_id=link.tenant_id)
        pinned = link.domain_pack
        base = (
            pinned
            or playbooks.pair_for_tenant(tenant_id=link.tenant_id, domain=link.domain).domain_pack
        )
        event_link = _LinkSnapshot(link.pk, link.tenant_id, link.domain, link.playbook_id, pinned)
        link.delete()
        _send_link_event(
            signals.playbook_unlinked, "playbook.unlinked", principal, event_link, base, None
        )


@dataclass(frozen=True)
class _LinkSnapshot:
    pk: int
    tenant_id: str
    domain: str
    playbook_id: str
    domain_pack: DomainPack | None


def _send_link_event(signal, action, principal, link, domain_pack, playbook) -> None:
    pinned = link.domain_pack.version if link.domain_pack is not None else None
    details: dict[str, Any] = {
        "link_id": link.pk,
        "playbook_id": link.playbook_id,
        "pinned_version": pinned,
    }
    if playbook is not None:
        details.update(
            source=playbook.source,
            source_version=playbook.pack_version,
            exception_type=playbook.exception_type,
            tools=playbook.tools,
        )
    verb = "linked to" if action == "playbook.linked" else "unlinked from"
    send_event(
        signal,
        PlaybookLink,
        DomainEvent(
            action=action,
            actor=principal.username,
            summary=f"Playbook {link.playbook_id} {verb} {link.tenant_id} ({link.domain})",
            tenant_id=link.tenant_id,
            object_type="playbook_link",
            object_id=link.playbook_id,
            domain=link.domain,
            version=domain_pack.version if domain_pack is not None else "",
            checksum=domain_pack.checksum if domain_pack is not None else "",
            details=details,
        ),
    )
