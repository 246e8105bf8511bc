"""Playbook registry, compatibility and the link guard (DESIGN §6, §8).

A playbook is identified by `packs.content.playbook_id` within the pack that defines it: a domain
pack version (`playbooks`) or a tenant pack version (`customPlaybooks`). When both define the same
id, the tenant's custom playbook wins, as it does at runtime (DESIGN §9).

The pure functions take pack rows (or anything with `content_json`, `domain`, `version`) and never
touch the database; the query functions at the end of the module are scoped by the principal."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from onboarding.errors import InvalidInput, finding
from onboarding.principal import Principal, require_any_role
from packs import content as pack_content
from packs import hooks
from packs.models import DomainPack, PackStatus, PlaybookLink, TenantPack
from tenants.access import tenant_for_read


@dataclass(frozen=True)
class Playbook:
    playbook_id: str
    domain: str
    exception_type: str
    source: str  # "domain" | "tenant"
    pack_version: str
    path: str  # JSON Pointer of the playbook inside its pack
    refs: tuple[tuple[str, str], ...]  # (JSON Pointer of the step, tool name)

    @property
    def tools(self) -> list[str]:
        return sorted({tool for _, tool in self.refs})


# --- pure functions -------------------------------------------------------------------------


def _content(pack: Any) -> dict[str, Any]:
    content = getattr(pack, "content_json", None) if pack is not None else None
    return content if isinstance(content, dict) else {}


def _playbooks_in(
    content: dict[str, Any], key: str, *, source: str, domain: str, version: str, known: set[str]
) -> list[Playbook]:
    items = content.get(key)
    if not isinstance(items, list):
        return []
    found = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        exception_type = item.get("exceptionType")
        identifier = pack_content.playbook_id(item)
        if not isinstance(identifier, str) or not identifier:
            continue
        path = f"/{key}/{index}"
        refs = tuple(
            (pointer if pointer.startswith(path) else f"{path}{pointer}", tool)
            for pointer, tool in pack_content.step_tool_refs(item, known)
        )
        found.append(
            Playbook(
                playbook_id=identifier,
                domain=domain,
                exception_type=exception_type if isinstance(exception_type, str) else "",
                source=source,
                pack_version=version,
                path=path,
                refs=refs,
            )
        )
    return found


def domain_tools(domain_pack: DomainPack | None) -> set[str]:
    return set(pack_content.tool_names(_content(domain_pack)))


def registry_for_pair(
    domain_pack: DomainPack | None, tenant_pack: TenantPack | None
) -> list[Playbook]:
    """The playbooks a (domain pack, tenant pack) pair defines: the domain's, then the tenant's."""
    known = domain_tools(domain_pack)
    entries: list[Playbook] = []
    if domain_pack is not None:
        entries += _playbooks_in(
            _content(domain_pack),
            "playbooks",
            source="domain",
            domain=domain_pack.domain,
            version=domain_pack.version,
            known=known,
        )
    if tenant_pack is not None:
        entries += _playbooks_in(
            _content(tenant_pack),
            "customPlaybooks",
            source="tenant",
            domain=domain_pack.domain if domain_pack is not None else tenant_pack.domain,
            version=tenant_pack.version,
            known=known,
        )
    return entries


def effective_playbooks(entries: Iterable[Playbook]) -> dict[str, Playbook]:
    """Playbook id → the playbook a link to it means: the tenant's custom one first."""
    chosen: dict[str, Playbook] = {}
    for entry in entries:
        current = chosen.get(entry.playbook_id)
        if current is None or (entry.source == "tenant" and current.source != "tenant"):
            chosen[entry.playbook_id] = entry
    return chosen


def find_playbook(entries: Iterable[Playbook], playbook_id: str) -> Playbook | None:
    return effective_playbooks(entries).get(playbook_id)


def _block_list(content: dict[str, Any], key: str) -> dict[str, str]:
    """Tool name → JSON Pointer of the block-list entry that names it."""
    guardrails = content.get(key)
    lists = guardrails.get("blockLists") if isinstance(guardrails, dict) else None
    if not isinstance(lists, list):
        return {}
    blocked: dict[str, str] = {}
    for index, item in enumerate(lists):
        name = item
        if isinstance(item, dict):
            name = item.get("tool") or item.get("name") or item.get("toolName")
        if isinstance(name, str):
            blocked.setdefault(name, f"/{key}/blockLists/{index}")
    return blocked


def _approved_tools(content: dict[str, Any]) -> set[str] | None:
    """None when the tenant pack does not restrict tools (no or an empty `approvedTools`)."""
    approved = content.get("approvedTools")
    if not isinstance(approved, list) or not approved:
        return None
    return {tool for tool in approved if isinstance(tool, str)}


def pack_label(pack: Any) -> str:
    if isinstance(pack, TenantPack):
        return f"tenant pack {pack.tenant_id} {pack.version}"
    return f"domain pack {pack.domain} {pack.version}"


def compatibility_reasons(
    playbook: Playbook, *, domain_pack: DomainPack | None, tenant_pack: TenantPack | None
) -> list[dict[str, Any]]:
    """Every reason the playbook cannot run under the pair; empty when it is compatible."""
    domain_content = _content(domain_pack)
    tenant_content = _content(tenant_pack)
    name = f"Playbook {playbook.playbook_id}"
    reasons: list[dict[str, Any]] = []
    if domain_pack is None:
        return [
            finding(
                "domain_pack_missing",
                playbook.path,
                f"{name}: no domain pack of {playbook.domain} to check it against.",
            )
        ]
    domain_label = pack_label(domain_pack)
    if playbook.exception_type not in pack_content.exception_type_names(domain_content):
        reasons.append(
            finding(
                "unknown_exception_type",
                f"{playbook.path}/exceptionType",
                f"{name}: exception type {playbook.exception_type!r} does not exist in "
                f"{domain_label}.",
            )
        )
    known = set(pack_content.tool_names(domain_content))
    approved = _approved_tools(tenant_content)
    blocked = {**_block_list(domain_content, "guardrails")}
    tenant_blocked = _block_list(tenant_content, "customGuardrails")
    seen: set[tuple[str, str]] = set()

    def add(code: str, path: str, tool: str, message: str) -> None:
        if (code, tool) not in seen:
            seen.add((code, tool))
            reasons.append(finding(code, path, f"{name}: tool {tool!r} {message}"))

    for pointer, tool in playbook.refs:
        if tool not in known:
            add("unknown_tool", pointer, tool, f"does not exist in {domain_label}.")
        if approved is not None and tool not in approved:
            add(
                "tool_not_approved",
                pointer,
                tool,
                f"is not in the approvedTools of {pack_label(tenant_pack)}.",
            )
        if tool in blocked:
            add("tool_blocked", pointer, tool, f"is blocked by {domain_label} ({blocked[tool]}).")
        if tool in tenant_blocked:
            add(
                "tool_blocked",
                pointer,
                tool,
                f"is blocked by {pack_label(tenant_pack)} ({tenant_blocked[tool]}).",
            )
    return reasons


def playbook_not_found(
    playbook_id: str, domain_pack: DomainPack | None, tenant_pack: TenantPack | None
) -> dict[str, Any]:
    where = [pack_label(pack) for pack in (domain_pack, tenant_pack) if pack is not None]
    return finding(
        "playbook_not_found",
        "/playbook_id",
        f"Playbook {playbook_id} is not defined by {' or '.join(where) or 'any pack'}.",
    )


def link_findings_for_pair(
    *, tenant_id: str, domain_pack: DomainPack | None, tenant_pack: TenantPack | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(errors, warnings) for the tenant's playbook links under the pair about to be active.

    Unpinned links follow the pair; a link pinned to a domain pack version stays on that version
    and its playbook is checked against it and the new tenant pack. One query for the links."""
    links = list(
        PlaybookLink.objects.filter(tenant_id=tenant_id)
        .select_related("domain_pack")
        .order_by("id")
    )
    domain = domain_pack.domain if domain_pack is not None else getattr(tenant_pack, "domain", "")
    current = effective_playbooks(registry_for_pair(domain_pack, tenant_pack)) if links else {}
    pinned: dict[int, dict[str, Playbook]] = {}
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for link in links:
        label = f"Playbook link {link.pk} ({link.playbook_id})"
        if link.domain != domain:
            warnings.append(
                finding(
                    "playbook_link_other_domain",
                    f"/playbook_links/{link.pk}",
                    f"{label} belongs to domain {link.domain}, not {domain}: it stays unused.",
                )
            )
            continue
        base = domain_pack
        entries = current
        if link.domain_pack_id is not None and (
            domain_pack is None or link.domain_pack_id != domain_pack.pk
        ):
            base = link.domain_pack
            if base.pk not in pinned:
                pinned[base.pk] = effective_playbooks(registry_for_pair(base, tenant_pack))
            entries = pinned[base.pk]
            warnings.append(
                finding(
                    "playbook_link_pinned",
                    f"/playbook_links/{link.pk}",
                    f"{label} stays pinned to {pack_label(base)}, not the version activated.",
                )
            )
        playbook = entries.get(link.playbook_id)
        if playbook is None:
            reasons = [playbook_not_found(link.playbook_id, base, tenant_pack)]
        else:
            reasons = compatibility_reasons(playbook, domain_pack=base, tenant_pack=tenant_pack)
        errors.extend(
            finding(
                "incompatible_playbook_link",
                reason["path"],
                f"{label}: {reason['message']}",
                hint=f"Unlink it (DELETE /admin/playbooks/links/{link.pk}) or choose other packs.",
            )
            for reason in reasons
        )
    return errors, warnings


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    domain: str
    domain_pack: DomainPack | None
    tenant_pack: TenantPack | None


def newest_domain_pack(domain: str) -> DomainPack | None:
    return (
        DomainPack.objects.filter(domain=domain)
        .exclude(status=PackStatus.DEPRECATED)
        .order_by("-version_key")
        .first()
    )


def newest_tenant_pack(tenant_id: str, domain: str) -> TenantPack | None:
    return (
        TenantPack.objects.filter(tenant_id=tenant_id, domain=domain)
        .exclude(status=PackStatus.DEPRECATED)
        .order_by("-version_key")
        .first()
    )


def domain_required() -> InvalidInput:
    return InvalidInput(
        "No domain given and the tenant has no active domain.",
        code="domain_required",
        errors=[finding("domain_required", "/domain", "Name the domain.")],
    )


def pair_for_tenant(*, tenant_id: str, domain: str | None, active=None) -> Pair:
    """The pair a tenant's playbooks are judged under: its active pair for that domain, else the
    domain's newest non-deprecated version with the tenant's newest tenant pack for it."""
    if active is None:
        active = hooks.active_config(tenant_id=tenant_id)
    domain = domain or (active.domain if active is not None else None)
    if not domain:
        domain = (
            TenantPack.objects.filter(tenant_id=tenant_id)
            .exclude(status=PackStatus.DEPRECATED)
            .order_by("-version_key")
            .values_list("domain", flat=True)
            .first()
        )
    if not domain:
        raise domain_required()
    if active is not None and active.domain == domain:
        return Pair(domain, active.domain_pack or newest_domain_pack(domain), active.tenant_pack)
    return Pair(domain, newest_domain_pack(domain), newest_tenant_pack(tenant_id, domain))


def _row(
    playbook: Playbook,
    reasons: list[dict[str, Any]],
    link: PlaybookLink | None,
) -> dict[str, Any]:
    return {
        "playbook_id": playbook.playbook_id,
        "domain": playbook.domain,
        "exception_type": playbook.exception_type,
        "source": playbook.source,
        "pack_version": playbook.pack_version,
        "tools": playbook.tools,
        "linked": link is not None,
        "link_id": link.pk if link is not None else None,
        "pinned_version": link.domain_pack.version if link and link.domain_pack else None,
        "compatible": not reasons,
        "reasons": reasons,
    }


def _context_tenant(principal: Principal, tenant_id: str | None) -> str | None:
    if tenant_id:
        return tenant_id
    if principal.context_tenant:
        return principal.context_tenant
    if not principal.is_platform and len(principal.tenant_roles) == 1:
        return next(iter(principal.tenant_roles))
    return None


def playbook_registry(
    *, principal: Principal, tenant_id: str | None = None, domain: str | None = None
) -> list[dict[str, Any]]:
    """Registry rows for a tenant (or, for platform principals, a domain's catalogue)."""
    require_any_role(principal)
    tenant_id = _context_tenant(principal, tenant_id)
    if tenant_id is None:
        if not principal.is_platform:
            raise InvalidInput(
                "Name the tenant.",
                code="tenant_id_required",
                errors=[finding("tenant_id_required", "/tenant_id", "tenant_id is required.")],
            )
        if not domain:
            # Neither parameter: say which are missing (a tenant's registry, or a domain's
            # catalogue), not "the tenant has no active domain" when no tenant was named.
            raise InvalidInput(
                "Name a tenant (tenant_id) for its playbook registry, or a domain (domain) for "
                "that domain's catalogue.",
                code="tenant_id_or_domain_required",
                errors=[
                    finding("tenant_id_or_domain_required", "/tenant_id", "tenant_id is missing."),
                    finding("tenant_id_or_domain_required", "/domain", "domain is missing."),
                ],
            )
        pack = newest_domain_pack(domain)
        return [
            _row(entry, compatibility_reasons(entry, domain_pack=pack, tenant_pack=None), None)
            for entry in registry_for_pair(pack, None)
        ]
    tenant_for_read(principal=principal, tenant_id=tenant_id)
    pair = pair_for_tenant(tenant_id=tenant_id, domain=domain)
    links = {
        link.playbook_id: link
        for link in PlaybookLink.objects.filter(tenant_id=tenant_id, domain=pair.domain)
        .select_related("domain_pack")
        .order_by("id")
    }
    entries = registry_for_pair(pair.domain_pack, pair.tenant_pack)
    effective = effective_playbooks(entries)
    rows = []
    shown: set[str] = set()
    for entry in entries:
        link = links.get(entry.playbook_id)
        if (
            link is not None
            and link.domain_pack_id is not None
            and (pair.domain_pack is None or link.domain_pack_id != pair.domain_pack.pk)
        ):
            continue  # a pinned link is shown from its pinned version below
        is_effective = effective[entry.playbook_id] is entry
        reasons = compatibility_reasons(
            entry, domain_pack=pair.domain_pack, tenant_pack=pair.tenant_pack
        )
        rows.append(_row(entry, reasons, link if is_effective else None))
        if is_effective and link is not None:
            shown.add(link.playbook_id)
    for playbook_id, link in links.items():
        if playbook_id not in shown:
            rows.append(_link_row(link, pair))
    return rows


def _link_row(link: PlaybookLink, pair: Pair) -> dict[str, Any]:
    """A linked playbook the current pair does not show: pinned elsewhere, or gone."""
    base = link.domain_pack or pair.domain_pack
    playbook = find_playbook(registry_for_pair(base, pair.tenant_pack), link.playbook_id)
    if playbook is None:
        missing = Playbook(
            playbook_id=link.playbook_id,
            domain=link.domain,
            exception_type="",
            source="domain",
            pack_version=base.version if base is not None else "",
            path="",
            refs=(),
        )
        return _row(missing, [playbook_not_found(link.playbook_id, base, pair.tenant_pack)], link)
    reasons = compatibility_reasons(playbook, domain_pack=base, tenant_pack=pair.tenant_pack)
    return _row(playbook, reasons, link)
