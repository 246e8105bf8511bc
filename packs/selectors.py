"""Reads of packs, always scoped by the acting principal. Domain packs are a shared catalogue
readable by every principal with a role; tenant packs follow tenant isolation."""

from functools import lru_cache

from django.db.models import QuerySet

from onboarding.errors import NotFound, finding
from onboarding.principal import Principal, require_any_role
from packs import hooks
from packs.models import DomainPack, PlaybookLink, TenantPack
from packs.versions import parse_version, version_key
from tenants.access import tenant_for_read

LIST_FIELDS_EXCLUDED = ("content_json",)


def _key_or_none(version: str) -> str | None:
    try:
        parse_version(version)
    except Exception:
        return None
    return version_key(version)


def domain_pack_get(*, principal: Principal, domain: str, version: str) -> DomainPack:
    require_any_role(principal)
    key = _key_or_none(version)
    pack = DomainPack.objects.filter(domain=domain, version_key=key).first() if key else None
    if pack is None:
        raise NotFound(f"Domain pack {domain} {version} not found.", code="domain_pack_not_found")
    return pack


def domain_pack_list(
    *, principal: Principal, domain: str | None = None, status: str | None = None
) -> QuerySet[DomainPack]:
    require_any_role(principal)
    queryset = DomainPack.objects.defer(*LIST_FIELDS_EXCLUDED)
    if domain:
        queryset = queryset.filter(domain=domain)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("domain", "-version_key")


def domain_pack_latest(
    *, principal: Principal, domain: str, include_deprecated: bool = True
) -> DomainPack | None:
    require_any_role(principal)
    queryset = DomainPack.objects.filter(domain=domain)
    if not include_deprecated:
        queryset = queryset.exclude(status="DEPRECATED")
    return queryset.order_by("-version_key").defer(*LIST_FIELDS_EXCLUDED).first()


def domain_pack_latest_version(*, principal: Principal, domain: str) -> str | None:
    """`get_latest_version(domain)` of the specification."""
    pack = domain_pack_latest(principal=principal, domain=domain)
    return pack.version if pack else None


def domain_names(*, principal: Principal) -> list[str]:
    require_any_role(principal)
    return list(DomainPack.objects.order_by("domain").values_list("domain", flat=True).distinct())


def tenant_pack_get(*, principal: Principal, tenant_id: str, version: str) -> TenantPack:
    tenant_for_read(principal=principal, tenant_id=tenant_id)
    key = _key_or_none(version)
    pack = TenantPack.objects.filter(tenant_id=tenant_id, version_key=key).first() if key else None
    if pack is None:
        raise NotFound(
            f"Tenant pack {tenant_id} {version} not found.", code="tenant_pack_not_found"
        )
    return pack


def tenant_pack_list(
    *, principal: Principal, tenant_id: str, status: str | None = None
) -> QuerySet[TenantPack]:
    tenant_for_read(principal=principal, tenant_id=tenant_id)
    queryset = TenantPack.objects.filter(tenant_id=tenant_id).defer(*LIST_FIELDS_EXCLUDED)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-version_key")


def tenant_pack_list_visible(
    *, principal: Principal, status: str | None = None
) -> QuerySet[TenantPack]:
    """Tenant packs of every tenant the principal may see, newest first within each tenant."""
    require_any_role(principal)
    queryset = TenantPack.objects.defer(*LIST_FIELDS_EXCLUDED)
    visible = principal.visible_tenant_ids()
    if visible is not None:
        queryset = queryset.filter(tenant_id__in=visible)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("tenant_id", "-version_key")


def tenant_pack_latest_version(*, principal: Principal, tenant_id: str) -> str | None:
    """`get_latest_version(tenant_id)` of the specification."""
    pack = tenant_pack_list(principal=principal, tenant_id=tenant_id).first()
    return pack.version if pack else None


def domain_pack_resolve(
    *, principal: Principal, domain: str, version: str | None = None, tenant_id: str | None = None
) -> DomainPack | None:
    """The domain pack a tenant pack is checked against (DESIGN §7): the named version, else the
    tenant's active one for that domain, else the domain's newest non-deprecated version."""
    if version:
        return domain_pack_get(principal=principal, domain=domain, version=version)
    if tenant_id:
        active = hooks.active_config(tenant_id=tenant_id, content=False)
        if active is not None and active.domain == domain and active.domain_pack:
            return active.domain_pack
    require_any_role(principal)
    return (
        DomainPack.objects.filter(domain=domain)
        .exclude(status="DEPRECATED")
        .order_by("-version_key")
        .defer("content_json")
        .first()
    )


def domain_pack_content(pack: DomainPack) -> dict:
    """The document of a domain pack, decoded once per process: rows are immutable, so the id
    and checksum name the content for good (bulk imports check many tenant packs against one
    domain pack). Callers must not mutate it."""
    if "content_json" in pack.__dict__:
        return pack.content_json
    return _content_by_id(pack.pk, pack.checksum)


@lru_cache(maxsize=8)
def _content_by_id(pack_id: int, digest: str) -> dict:
    return DomainPack.objects.values_list("content_json", flat=True).get(pk=pack_id)


# --- playbook links ---


def playbook_link_get(*, principal: Principal, link_id: int, lock: bool = False):
    """404 for a link of a tenant the principal may not see: existence is not leaked."""

    queryset = PlaybookLink.objects.select_for_update() if lock else PlaybookLink.objects
    link = queryset.filter(pk=link_id).first()
    if link is None or not principal.can_read_tenant(link.tenant_id):
        raise NotFound(f"Playbook link {link_id} not found.", code="playbook_link_not_found")
    return link


def playbook_link_list(*, principal: Principal, tenant_id: str, domain: str | None = None):
    tenant_for_read(principal=principal, tenant_id=tenant_id)
    queryset = PlaybookLink.objects.filter(tenant_id=tenant_id).select_related("domain_pack")
    if domain:
        queryset = queryset.filter(domain=domain)
    return queryset.defer("domain_pack__content_json").order_by("domain", "playbook_id")


def pack_integrity_findings(
    *, domain_pack: DomainPack | None, tenant_pack: TenantPack | None
) -> list[dict]:
    """One finding per pack of a pair whose stored content no longer matches its checksum: such
    a pair must not be activated (the runtime would refuse to serve it)."""
    found = []
    for pack, path in (
        (domain_pack, "/domain_pack_version"),
        (tenant_pack, "/tenant_pack_version"),
    ):
        if pack is not None and not pack.content_intact():
            found.append(
                finding(
                    "pack_integrity_failure",
                    path,
                    f"The stored {pack.pack_type} pack {pack.version} does not match its "
                    f"checksum {pack.checksum}.",
                    "Run verify_packs; re-import the version from its source file under a new "
                    "version number.",
                )
            )
    return found
