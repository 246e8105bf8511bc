"""What an activation asks for: the (domain pack, tenant pack) pair resolved to rows, the tenant's
current configuration, and the outcome handed back to the API, pages and commands."""

from dataclasses import dataclass, field
from typing import Any

from onboarding.errors import InvalidInput, finding
from packs.models import DomainPack, TenantPack
from packs.versions import parse_version, version_key
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from tenants.models import Tenant

KIND_ACTIVATE = "activate"
KIND_ROLLBACK = "rollback"
# A change of the approval policy (a tenant's, or the global setting when the request names no
# tenant) that weakens four-eyes: it waits for a second ADMIN (DESIGN §14).
KIND_POLICY = "policy"
# A role grant (ADMIN while four-eyes applies) waiting for a second ADMIN (DESIGN §15); its
# `policy` field holds {"access": {"username", "role", "tenant_id"}}.
KIND_ACCESS = "access"
# A fleet rollout (DESIGN §16): one request approves the whole plan; no tenant, the domain pack
# it moves to. Its tenants' activations are recorded with this kind too.
KIND_ROLLOUT = "rollout"


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
    """`status` is applied, unchanged, pending (a change request awaits approval), scheduled
    (it waits for `apply_at`) or preview."""

    status: str
    config: TenantActiveConfig | None = None
    change_request: ConfigChangeRequest | None = None
    preview: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.status == "applied"


def current_config(tenant_id: str) -> TenantActiveConfig | None:
    return (
        TenantActiveConfig.objects.select_related("domain_pack", "tenant_pack")
        .filter(tenant_id=tenant_id)
        .first()
    )


def resolve_target(
    *,
    tenant: Tenant,
    current: TenantActiveConfig | None,
    domain: str | None,
    domain_pack_version: str | None,
    tenant_pack_version: str | None,
) -> Target:
    """The pair a request names; an omitted part keeps what is active."""
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


def config_snapshot(config: TenantActiveConfig | None) -> dict[str, Any]:
    """The configuration's pair, checksums and revision, as the audit row and previews show it."""
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
