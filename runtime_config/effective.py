"""The effective configuration of a tenant (DESIGN §9): the active domain pack merged with the
tenant pack — a pure function — compiled and frozen into an `EffectiveConfig`, so that an
evaluation resolves once, at load, everything that does not depend on its payload (playbook
choice, blocked tools, approval rules). Loading, checking and caching it is runtime.py's."""

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson

from packs.cel import CelError, CompiledCondition, compile_condition
from packs.content import exception_type_names, playbook_id, step_tool_refs_detailed, tool_names

log = logging.getLogger(__name__)
DEFAULT_SEVERITY = "MEDIUM"
# Tenant-pack keys the merge interprets; any other tenant key is carried over as is.
_TENANT_MERGED_KEYS = {
    "tenantId",
    "domainName",
    "customSeverityOverrides",
    "customGuardrails",
    "approvedTools",
    "humanApprovalRules",
    "customPlaybooks",
}


# --- the pure merge ---------------------------------------------------------------------------


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def merge_guardrails(domain: Any, tenant: Any) -> dict[str, Any]:
    """Tenant values replace the domain's key by key, except the lists: a tenant may add blocked
    tools but never unblock the platform's, and may narrow an allow-list but never widen it
    (an empty allow-list means no allow-list)."""
    domain, tenant = _as_dict(domain), _as_dict(tenant)
    merged = {**domain, **tenant}
    blocks = [*_as_list(domain.get("blockLists")), *_as_list(tenant.get("blockLists"))]
    merged["blockLists"] = list(dict.fromkeys(item for item in blocks if isinstance(item, str)))
    domain_allow = [item for item in _as_list(domain.get("allowLists")) if isinstance(item, str)]
    tenant_allow = [item for item in _as_list(tenant.get("allowLists")) if isinstance(item, str)]
    if domain_allow and tenant_allow:
        allowed = [item for item in tenant_allow if item in set(domain_allow)]
    else:
        allowed = domain_allow or tenant_allow
    merged["allowLists"] = list(dict.fromkeys(allowed))
    return _copy(merged)


def merge_effective_config(
    domain_content: dict[str, Any], tenant_content: dict[str, Any] | None
) -> dict[str, Any]:
    """The domain pack with the tenant pack applied: `severityOverrides` (exception type →
    severity), `guardrails` (see merge_guardrails), `approvedTools` (every domain tool when there
    is no tenant pack), `humanApprovalRules`, and `playbooks` = the tenant's custom playbooks
    followed by the domain's (the first one for an exception type wins). Pure; inputs are not
    modified."""
    domain = _as_dict(domain_content)
    tenant = _as_dict(tenant_content)
    merged = {key: value for key, value in domain.items() if key not in ("playbooks",)}
    merged = _copy(merged)
    overrides: dict[str, str] = {}
    for item in _as_list(tenant.get("customSeverityOverrides")):
        item = _as_dict(item)
        kind, severity = item.get("exceptionType"), item.get("severity")
        if isinstance(kind, str) and isinstance(severity, str):
            overrides.setdefault(kind, severity)
    merged["severityOverrides"] = overrides
    merged["guardrails"] = merge_guardrails(
        domain.get("guardrails"), tenant.get("customGuardrails")
    )
    if tenant_content is None:
        merged["approvedTools"] = sorted(tool_names(domain))
    else:
        merged["approvedTools"] = [
            tool for tool in _as_list(tenant.get("approvedTools")) if isinstance(tool, str)
        ]
    merged["humanApprovalRules"] = _copy(_as_list(tenant.get("humanApprovalRules")))
    merged["playbooks"] = _copy(
        [*_as_list(tenant.get("customPlaybooks")), *_as_list(domain.get("playbooks"))]
    )
    if tenant_content is not None:
        merged["tenantId"] = tenant.get("tenantId")
        for key, value in tenant.items():
            if key not in _TENANT_MERGED_KEYS and key not in merged:
                merged[key] = _copy(value)
    return merged


def deep_freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: deep_freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(deep_freeze(item) for item in value)
    return value


# --- the frozen configuration ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeverityRule:
    index: int
    condition: str
    severity: str
    compiled: CompiledCondition | None  # None: the stored condition does not compile


@dataclass(frozen=True, slots=True)
class ExceptionPlan:
    """What an evaluation of one exception type decides before looking at the payload."""

    exception_type: str
    override: Mapping[str, Any] | None  # {index, exceptionType, severity}
    playbook: Mapping[str, Any] | None  # {source, index, playbook_id, steps...}
    tools: tuple[str, ...]
    blocked_tools: tuple[Mapping[str, Any], ...]
    # {playbook, tools, blocked_tools} as JSON: an evaluation loads a fresh copy for its answer
    # (cheaper than a deep copy, and the cached plan can never be altered through an answer).
    decision_json: bytes


@dataclass(frozen=True, slots=True)
class EffectiveConfig:
    tenant_id: str
    domain: str
    domain_pack_version: str
    domain_pack_checksum: str
    tenant_pack_version: str | None
    tenant_pack_checksum: str | None
    revision: int
    source: str  # "database" or "file"
    config: Mapping[str, Any]
    severity_rules: tuple[SeverityRule, ...]
    plans: Mapping[str, ExceptionPlan]
    approval_rules: Mapping[str, Mapping[str, Any]]  # severity → {index, severity, requireApproval}
    approval_threshold: float | None
    etag: str
    body: bytes  # the JSON the config endpoint serves, serialized once
    # A rollout's canary on this tenant (runtime_config.canary.Canary), cached with it.
    canary: Any = None

    def packs_used(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "revision": self.revision,
            "domain_pack": {
                "domain": self.domain,
                "version": self.domain_pack_version,
                "checksum": self.domain_pack_checksum,
            },
            "tenant_pack": None
            if self.tenant_pack_version is None
            else {"version": self.tenant_pack_version, "checksum": self.tenant_pack_checksum},
        }


@dataclass(frozen=True)
class PackSource:
    """One pack as loaded: content plus what is known about it."""

    content: dict[str, Any]
    version: str
    checksum: str


def build_effective_config(
    *,
    tenant_id: str,
    domain: str,
    domain_pack: PackSource,
    tenant_pack: PackSource | None,
    revision: int,
    source: str,
    activated_at: str | None = None,
) -> EffectiveConfig:
    tenant_content = tenant_pack.content if tenant_pack else None
    merged = merge_effective_config(domain_pack.content, tenant_content)
    packs = {
        "domain_pack": {
            "domain": domain,
            "version": domain_pack.version,
            "checksum": domain_pack.checksum,
        },
        "tenant_pack": None
        if tenant_pack is None
        else {"version": tenant_pack.version, "checksum": tenant_pack.checksum},
    }
    document = {
        "tenant_id": tenant_id,
        "domain": domain,
        "revision": revision,
        "source": source,
        "activated_at": activated_at,
        **packs,
        "config": merged,
    }
    tag_source = f"{domain_pack.checksum}:{tenant_pack.checksum if tenant_pack else '-'}"
    tag = hashlib.sha256(f"{tag_source}:{revision}:{source}".encode()).hexdigest()[:40]
    guardrails = merged["guardrails"]
    threshold = guardrails.get("humanApprovalThreshold")
    return EffectiveConfig(
        tenant_id=tenant_id,
        domain=domain,
        domain_pack_version=domain_pack.version,
        domain_pack_checksum=domain_pack.checksum,
        tenant_pack_version=tenant_pack.version if tenant_pack else None,
        tenant_pack_checksum=tenant_pack.checksum if tenant_pack else None,
        revision=revision,
        source=source,
        config=deep_freeze(merged),
        severity_rules=_compile_rules(tenant_id, merged.get("severityRules")),
        plans=MappingProxyType(_plans(domain_pack.content, tenant_content, merged)),
        approval_rules=MappingProxyType(_approval_rules(merged["humanApprovalRules"])),
        approval_threshold=float(threshold)
        if isinstance(threshold, int | float) and not isinstance(threshold, bool)
        else None,
        etag=f'"{tag}"',
        body=orjson.dumps(document),
    )


def _compile_rules(tenant_id: str, rules: Any) -> tuple[SeverityRule, ...]:
    compiled = []
    for index, rule in enumerate(_as_list(rules)):
        rule = _as_dict(rule)
        condition, severity = rule.get("condition"), rule.get("severity")
        if not isinstance(condition, str) or not isinstance(severity, str):
            continue
        try:
            program = compile_condition(condition)
            program.program  # noqa: B018 - compile now, not on the first evaluation
        except CelError as exc:
            log.error(
                "tenant %s: severity rule %d does not compile (%s); it never matches",
                tenant_id,
                index,
                exc.message,
            )
            program = None
        compiled.append(SeverityRule(index, condition, severity, program))
    return tuple(compiled)


def _approval_rules(rules: list) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for index, rule in enumerate(rules):
        rule = _as_dict(rule)
        severity = rule.get("severity")
        if isinstance(severity, str) and severity not in found:
            found[severity] = MappingProxyType(
                {
                    "index": index,
                    "severity": severity,
                    "requireApproval": rule.get("requireApproval") is True,
                }
            )
    return found


def _plans(domain: dict, tenant: dict | None, merged: dict) -> dict[str, ExceptionPlan]:
    known_tools = tool_names(domain)
    approved = set(merged["approvedTools"])
    blocked_list = set(merged["guardrails"]["blockLists"])
    allow_list = set(merged["guardrails"]["allowLists"])
    overrides = {}
    for index, item in enumerate(_as_list(_as_dict(tenant).get("customSeverityOverrides"))):
        item = _as_dict(item)
        kind = item.get("exceptionType")
        if isinstance(kind, str) and isinstance(item.get("severity"), str):
            overrides.setdefault(
                kind, {"index": index, "exceptionType": kind, "severity": item["severity"]}
            )
    candidates = [
        ("tenant", index, item)
        for index, item in enumerate(_as_list(_as_dict(tenant).get("customPlaybooks")))
    ] + [("domain", index, item) for index, item in enumerate(_as_list(domain.get("playbooks")))]
    # The first candidate for each exception type, in one pass (a scan per type costs the number
    # of types times the number of playbooks: seconds for a pack of thousands of each).
    first: dict[str, tuple] = {}
    for candidate in candidates:
        kind = _as_dict(candidate[2]).get("exceptionType")
        if isinstance(kind, str):
            first.setdefault(kind, candidate)
    plans = {}
    for kind in sorted(exception_type_names(domain)):
        found = first.get(kind)
        playbook, tools, blocked = None, [], []
        if found is not None:
            source, index, item = found
            playbook = {
                "source": source,
                "index": index,
                "pointer": f"/{'customPlaybooks' if source == 'tenant' else 'playbooks'}/{index}",
                "playbook_id": playbook_id(item),
                **_copy(item),
            }
            for pointer, tool, ref_kind in step_tool_refs_detailed(item, known_tools):
                if ref_kind == "call" and tool not in known_tools:
                    continue  # a `name(` in prose that names no tool is not a tool call
                if tool not in tools:
                    tools.append(tool)
                reason = _block_reason(tool, known_tools, approved, blocked_list, allow_list)
                if reason and all(entry["tool"] != tool for entry in blocked):
                    blocked.append({"tool": tool, "path": pointer, "reason": reason})
        plans[kind] = ExceptionPlan(
            exception_type=kind,
            override=deep_freeze(overrides[kind]) if kind in overrides else None,
            playbook=deep_freeze(playbook),
            tools=tuple(tools),
            blocked_tools=tuple(deep_freeze(entry) for entry in blocked),
            decision_json=orjson.dumps(
                {"playbook": playbook, "tools": tools, "blocked_tools": blocked}
            ),
        )
    return plans


def _block_reason(tool, known, approved, block_list, allow_list) -> str | None:
    if tool not in known:
        return "unknown_tool"
    if tool in block_list:
        return "block_list"
    if allow_list and tool not in allow_list:
        return "not_in_allow_list"
    if tool not in approved:
        return "not_approved"
    return None
