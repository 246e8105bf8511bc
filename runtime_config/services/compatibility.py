"""Every reason a target pair may not be applied now: a suspended tenant, a moved revision, a
stored pack failing its checksum, a deprecated pack, a tenant pack that does not resolve in the
domain pack, broken playbook links."""

from typing import Any

from onboarding.errors import Conflict, ServiceError, finding
from packs.models import PackStatus
from packs.playbooks import link_findings_for_pair
from packs.selectors import pack_integrity_findings
from runtime_config.models import TenantActiveConfig
from runtime_config.services.targets import Target
from tenants.models import Tenant, TenantStatus


def blocking_problems(
    *,
    tenant: Tenant,
    config: TenantActiveConfig | None,
    target: Target,
    expected_revision: int | None,
    has_links: bool = True,
) -> list[ServiceError]:
    """Every reason the target may not be applied now, in the order a client should see them.
    `has_links=False`: the caller knows the tenant has no playbook link (a batch asks once)."""
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
    deprecated = deprecated_findings(target)
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
    link_errors, _ = link_findings(tenant.tenant_id, target) if has_links else ([], [])
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


def deprecated_findings(target: Target) -> list[dict[str, Any]]:
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


def link_findings(tenant_id: str, target: Target) -> tuple[list[dict], list[dict]]:
    """(errors, warnings) of the tenant's playbook links under the target pair."""
    if target.domain_pack is None:
        return [], []
    return link_findings_for_pair(
        tenant_id=tenant_id, domain_pack=target.domain_pack, tenant_pack=target.tenant_pack
    )
