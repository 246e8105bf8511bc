"""Import and validation of packs (DESIGN §6, §7): the strict checks of a document, its version
(given, stated, or the next one), validation (a tenant pack against its domain pack), and the
store with its `pack.imported` event; concurrent imports of one owner take turns."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from onboarding.errors import (
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    finding,
)
from onboarding.events import DomainEvent, send_event
from onboarding.intake import check_json_value
from onboarding.principal import Principal, require_any_role, require_platform_admin
from packs import signals
from packs.canonical import canonical_json, checksum
from packs.models import DomainPack, TenantPack
from packs.selectors import (
    domain_pack_content,
    domain_pack_resolve,
)
from packs.services.refusals import (
    DOMAIN_RE,
    MAX_FINDINGS_IN_AUDIT,
    pack_import_refusal_record,
    refusals_recorded,
    reject_invalid,
)
from packs.services.store import new_pack, pack_label, version_exists
from packs.validation import validate_domain_pack, validate_tenant_pack
from packs.versions import next_version, parse_version, version_key
from tenants.access import tenant_for_read, tenant_for_write
from tenants.models import Tenant

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
    if not isinstance(domain, str) or not DOMAIN_RE.fullmatch(domain):
        raise InvalidInput(
            f"domain {domain!r} must match {DOMAIN_RE.pattern}.",
            code="invalid_domain",
            errors=[finding("invalid_domain", path, "Invalid domain name.")],
        )


def _report_with_checksum(report: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    report.setdefault("checksum", checksum(content))
    return report


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
                "warnings": warnings[:MAX_FINDINGS_IN_AUDIT],
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
    with refusals_recorded(
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
        raise reject_invalid(
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
        build=lambda v: new_pack(
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


def _check_version_label(requested: str | None, content: dict[str, Any]) -> None:
    """Import's checks of the version label, for validation: the request's and the content's
    must each parse and agree (`_agreed_version`), a content version alone must parse
    (`_resolve_version`)."""
    if _agreed_version(requested, content) is None and "version" in content:
        parse_version(content["version"], "/content/version")


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
    with refusals_recorded(
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
        raise reject_invalid(
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
        build=lambda v: new_pack(
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
    version: str | None = None,
) -> dict[str, Any]:
    """The validation report of a document, valid or not; nothing is written. The version label
    (`version`, and the content's own) is checked the way import checks it, with the same 400
    `invalid_version` / `version_mismatch`: a document that validates also imports."""

    require_any_role(principal)
    if tenant_id is not None:
        tenant_for_read(principal=principal, tenant_id=tenant_id)
    _check_content(content)
    if pack_type in ("domain", "tenant"):
        _check_version_label(version, content)
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
