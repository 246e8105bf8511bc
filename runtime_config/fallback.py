"""File fallback (DESIGN §9, backward compatibility with the file-based runtime).

With PACKS_FILE_FALLBACK_DIR set, a tenant without an active configuration in the database is
served from pack files in that folder. Layout (the same files `import_packs` takes):

    <dir>/*.json, <dir>/domain/*.json, <dir>/tenant/*.json

Each file is classified by its content, not its name: a document with `tenantId` is a tenant
pack, any other a domain pack. The tenant's pack is the one whose `tenantId` is the tenant; its
domain pack is the one whose `domainName` equals the tenant pack's `domainName`. When several
match, the highest `version` wins (a file without a parseable `version` ranks lowest). Files go
through the same strict intake and validation as an import; an invalid pack is refused (503
`fallback_pack_invalid` with its errors), never served. The database always wins: once the
tenant has an active configuration, its files are ignored."""

import logging
from pathlib import Path
from typing import Any

from django.conf import settings

from onboarding.errors import ServiceError
from onboarding.intake import load_json_object
from packs.canonical import checksum
from packs.validation import validate_domain_pack, validate_tenant_pack
from packs.versions import version_key
from runtime_config.effective import PackSource, build_effective_config

log = logging.getLogger(__name__)
SUBFOLDERS = ("", "domain", "tenant")


class FallbackPackInvalid(ServiceError):
    status = 503
    code = "fallback_pack_invalid"
    title = "Fallback pack refused"


def fallback_dir() -> Path | None:
    folder = getattr(settings, "PACKS_FILE_FALLBACK_DIR", None)
    return Path(folder) if folder else None


def pack_files(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for sub in SUBFOLDERS:
        directory = folder / sub if sub else folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.json")):
            try:
                found.append((path, load_json_object(path.read_bytes())))
            except (OSError, ServiceError) as exc:
                log.error("file fallback: %s is unreadable and ignored: %s", path, exc)
    return found


def _version_rank(content: dict[str, Any]) -> tuple[int, str]:
    version = content.get("version")
    try:
        return (1, version_key(version))
    except Exception:
        return (0, "")


def _version_of(path: Path, content: dict[str, Any]) -> str:
    version = content.get("version")
    return version if isinstance(version, str) and version else f"file:{path.name}"


def _pick(candidates: list[tuple[Path, dict[str, Any]]]) -> tuple[Path, dict[str, Any]] | None:
    if not candidates:
        return None
    return max(candidates, key=lambda item: _version_rank(item[1]))


def load_from_files(tenant_id: str):
    """The tenant's EffectiveConfig from the fallback folder, or None (no folder, no file)."""
    folder = fallback_dir()
    if folder is None:
        return None
    files = pack_files(folder)
    tenants = [(p, c) for p, c in files if "tenantId" in c]
    domains = [(p, c) for p, c in files if "tenantId" not in c]
    tenant_file = _pick([(p, c) for p, c in tenants if c.get("tenantId") == tenant_id])
    if tenant_file is None:
        return None
    tenant_path, tenant_content = tenant_file
    domain_name = tenant_content.get("domainName")
    domain_file = _pick([(p, c) for p, c in domains if c.get("domainName") == domain_name])
    if domain_file is None:
        log.error("file fallback: no domain pack %r for tenant %s", domain_name, tenant_id)
        return None
    domain_path, domain_content = domain_file
    _validate(domain_path, domain_content, tenant_path, tenant_content)

    log.info("tenant %s served from fallback files %s, %s", tenant_id, domain_path, tenant_path)
    return build_effective_config(
        tenant_id=tenant_id,
        domain=str(domain_name),
        domain_pack=PackSource(
            domain_content, _version_of(domain_path, domain_content), checksum(domain_content)
        ),
        tenant_pack=PackSource(
            tenant_content, _version_of(tenant_path, tenant_content), checksum(tenant_content)
        ),
        revision=0,
        source="file",
    )


def _validate(domain_path, domain_content, tenant_path, tenant_content) -> None:
    reports = [
        (domain_path, validate_domain_pack(domain_content)),
        (
            tenant_path,
            validate_tenant_pack(tenant_content, domain_pack_content=domain_content),
        ),
    ]
    for path, report in reports:
        if not report.get("valid"):
            errors = report.get("errors", [])
            log.error("file fallback: %s is invalid (%d errors); not served", path, len(errors))
            raise FallbackPackInvalid(
                f"Fallback pack file {path.name} is invalid; it is not served.",
                errors=errors,
                extra={"file": path.name},
            )
