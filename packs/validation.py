"""Pack validation (DESIGN §7): the canonical JSON Schemas (packs.schema_findings),
cross-references, CEL conditions, self-tests (packs.self_tests) and secret detection
(packs.secret_scan), as one report

    {valid, pack_type, checksum, errors[], warnings[], summary{...}, checked_against}

with findings `{code, path, message, hint?}` ordered by path. Content is expected to have passed
the strict intake (onboarding.intake); every check reads it defensively, so a wrongly shaped pack
gets findings, never an exception.

Every step costs time linear in the size of the pack, whatever its shape (issue 13): a report
lists at most MAX_FINDINGS errors and as many warnings (a last `too_many_findings` finding then
gives the full count), closest-name hints share one
bounded budget (packs.hints), and the self-tests share one evaluation budget (packs.cel.Budget).
"""

import hashlib
import re
from typing import Any

from onboarding.errors import finding
from onboarding.intake import shorten
from packs.canonical import canonical_json
from packs.cel import (
    CelError,
    compile_conditions,
)
from packs.content import exception_type_names, step_tool_refs_detailed, tool_names
from packs.hints import Hints
from packs.schema_findings import SCHEMA_DIR, SCHEMA_FILES, collect, load_schema
from packs.secret_scan import check_secrets
from packs.self_tests import run_self_tests

__all__ = ["SCHEMA_DIR", "SCHEMA_FILES", "load_schema"]

MAX_FINDINGS = 1_000
# A tenant pack checked against no domain pack: valid, with this warning naming the domain.
DOMAIN_PACK_MISSING = "domain_pack_missing"

# Exception types a condition names: `exceptionType == 'X'`, `'X' == exceptionType`,
# `exceptionType in ['X', 'Y']`.
_TYPE_EQ = re.compile(
    r"""\bexceptionType\s*==\s*(['"])(.*?)\1|(['"])([^'"]*)\3\s*==\s*exceptionType\b"""
)
_TYPE_IN = re.compile(r"\bexceptionType\s+in\s*\[([^\]]*)\]")
_QUOTED = re.compile(r"""(['"])(.*?)\1""")


# ----------------------------------------------------------------------------- public interface


def validate_domain_pack(content: Any) -> dict[str, Any]:
    report = _Report("domain", content)
    collect(content, "domain", report)
    if isinstance(content, dict):
        _check_domain(content, report)
        check_secrets(report)
    return report.result(summary=domain_summary(content), checked_against=None)


def validate_tenant_pack(
    content: Any,
    *,
    domain_pack_content: dict[str, Any] | None = None,
    checked_against: dict[str, Any] | None = None,
) -> dict[str, Any]:
    report = _Report("tenant", content)
    collect(content, "tenant", report)
    if isinstance(content, dict):
        _check_tenant(content, report)
        if isinstance(domain_pack_content, dict):
            _check_tenant_against_domain(content, domain_pack_content, report)
            if checked_against is None:
                checked_against = {
                    "domain": domain_pack_content.get("domainName"),
                    "version": domain_pack_content.get("version"),
                }
        else:
            _domain_pack_missing(content, report)
        check_secrets(report)
    return report.result(summary=tenant_summary(content), checked_against=checked_against)


class PackValidationService:
    """The validation entry points as one object, for callers that prefer it."""

    validate_domain_pack = staticmethod(validate_domain_pack)
    validate_tenant_pack = staticmethod(validate_tenant_pack)

    @staticmethod
    def detect_type(content: Any) -> str:
        return "tenant" if isinstance(content, dict) and "tenantId" in content else "domain"


# ----------------------------------------------------------------------------- the report


def _path_key(path: str) -> tuple:
    return tuple(
        (0, int(token), "") if token.isascii() and token.isdigit() else (1, 0, token)
        for token in path.split("/")[1:]
    )


class _Report:
    """Findings of one validation, at most MAX_FINDINGS of each kind; the rest are counted."""

    def __init__(self, pack_type: str, content: Any):
        self.pack_type = pack_type
        self.content = content
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.dropped_errors = 0
        self.dropped_warnings = 0
        self.hints = Hints()
        self.canonical = _canonical_or_none(content)

    @property
    def errors_full(self) -> bool:
        return len(self.errors) >= MAX_FINDINGS

    def skip_error(self) -> bool:
        """True (and counted) when the error list is full: the caller need not build it."""
        if len(self.errors) < MAX_FINDINGS:
            return False
        self.dropped_errors += 1
        return True

    def skip_warning(self) -> bool:
        if len(self.warnings) < MAX_FINDINGS:
            return False
        self.dropped_warnings += 1
        return True

    def add_error(self, item: dict[str, Any]) -> None:
        if not self.skip_error():
            self.errors.append(item)

    def closest(self, name: str, candidates: Any) -> str | None:
        return self.hints.closest(name, candidates)

    def error(self, code: str, path: str, message: str, hint: str | None = None) -> None:
        if not self.skip_error():
            self.errors.append(finding(code, path, message, hint))

    def warning(self, code: str, path: str, message: str, hint: str | None = None) -> None:
        if not self.skip_warning():
            self.warnings.append(finding(code, path, message, hint))

    def result(self, *, summary: dict[str, int], checked_against: Any) -> dict[str, Any]:
        errors, warnings = _ordered(self.errors), _ordered(self.warnings)
        if self.dropped_errors:
            errors.append(_too_many("errors", len(errors) + self.dropped_errors))
        if self.dropped_warnings:
            warnings.append(_too_many("warnings", len(warnings) + self.dropped_warnings))
        # Same digest as packs.canonical.checksum, reusing the canonical bytes made once.
        checksum = hashlib.sha256(self.canonical).hexdigest() if self.canonical else None
        return {
            "valid": not errors,
            "pack_type": self.pack_type,
            "checksum": checksum,
            "errors": errors,
            "warnings": warnings,
            "summary": summary,
            "checked_against": checked_against,
        }


def _too_many(kind: str, count: int) -> dict[str, Any]:
    return finding(
        "too_many_findings",
        "",
        f"{count:,} {kind} in all; the first {MAX_FINDINGS:,} found are listed.",
    )


def _canonical_or_none(content: Any) -> bytes | None:
    try:
        return canonical_json(content)
    except (TypeError, ValueError):  # orjson refuses what intake would have refused
        return None


def _ordered(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique = {(f["code"], f["path"], f["message"]): f for f in findings}
    return sorted(unique.values(), key=lambda f: (_path_key(f["path"]), f["code"], f["message"]))


# ----------------------------------------------------------------------------- schema


def schema_findings(content: Any, pack_type: str) -> list[dict[str, Any]]:
    """The schema findings of `content` alone (at most MAX_FINDINGS), unordered."""
    report = _Report(pack_type, None)
    collect(content, pack_type, report)
    return report.errors


# ----------------------------------------------------------------------------- domain packs


def _check_domain(content: dict[str, Any], report: _Report) -> None:
    # A section of the wrong shape already has its schema error; references into it are not
    # checked (None), rather than all reported as unknown.
    types = _names_or_none(content, "exceptionTypes", exception_type_names)
    tools = _names_or_none(content, "tools", tool_names)
    compiled = _check_severity_rules(content.get("severityRules"), types, report)
    _check_playbooks(content.get("playbooks"), "/playbooks", types, tools, report)
    if tools is not None:
        _check_tool_lists(content.get("guardrails"), "/guardrails", tools, report, "tools")
    run_self_tests(content, compiled, report)


def _names_or_none(content: dict[str, Any], key: str, names: Any) -> set[str] | None:
    section = content.get(key)
    if key in content and not (
        isinstance(section, dict) and all(isinstance(item, dict) for item in section.values())
    ):
        return None
    return names(content)


def _check_severity_rules(
    rules: Any, types: set[str] | None, report: _Report
) -> list[tuple[int, Any, str]]:
    """Compiles every condition; returns (index, compiled, severity) of the usable rules."""
    compiled: list[tuple[int, Any, str]] = []
    if not isinstance(rules, list):
        return compiled
    # Rules without a string condition have their schema finding; nothing to compile.
    indexed = [
        (index, rule, rule["condition"])
        for index, rule in enumerate(rules)
        if isinstance(rule, dict) and isinstance(rule.get("condition"), str)
    ]
    programs = compile_conditions([condition for _, _, condition in indexed])
    for (index, rule, condition), program in zip(indexed, programs, strict=True):
        path = f"/severityRules/{index}/condition"
        if isinstance(program, CelError):
            if report.skip_error():
                continue
            hint = f"column {program.position}" if program.position else None
            report.error(
                "invalid_condition",
                path,
                f"Condition {shorten(condition)} "
                + ("is refused: " if program.limit else "is not valid CEL: ")
                + program.message,
                hint,
            )
            continue
        named = program.named_types
        if named is None:
            named = _named_types(condition)
        for name in named if types is not None else ():
            if name not in types and not report.skip_warning():
                report.warning(
                    "unknown_reference",
                    path,
                    f"Condition names exception type {shorten(name)}, "
                    "which the pack does not define.",
                    report.closest(name, types),
                )
        severity = rule.get("severity")
        if isinstance(severity, str):
            compiled.append((index, program, severity))
    return compiled


def _named_types(condition: str) -> list[str]:
    if "exceptionType" not in condition:
        return []
    names = [m.group(2) if m.group(1) else m.group(4) for m in _TYPE_EQ.finditer(condition)]
    for match in _TYPE_IN.finditer(condition):
        names.extend(quoted.group(2) for quoted in _QUOTED.finditer(match.group(1)))
    return names


def _check_playbooks(
    playbooks: Any, base: str, types: set[str] | None, tools: set[str] | None, report: _Report
) -> None:
    """`types`/`tools` None means unknown (a tenant pack checked without a domain pack)."""
    if not isinstance(playbooks, list):
        return
    first_for_type: dict[str, int] = {}
    for index, playbook in enumerate(playbooks):
        if not isinstance(playbook, dict):
            continue
        path = f"{base}/{index}"
        exception_type = playbook.get("exceptionType")
        if isinstance(exception_type, str):
            if types is not None and exception_type not in types and not report.skip_error():
                report.error(
                    "unknown_reference",
                    f"{path}/exceptionType",
                    f"Playbook for exception type {shorten(exception_type)}, which is not defined.",
                    report.closest(exception_type, types),
                )
            if exception_type in first_for_type:
                if report.skip_error():
                    continue
                report.error(
                    "duplicate_playbook",
                    path,
                    f"A second playbook for exception type {shorten(exception_type)} "
                    f"(the first is {base}/{first_for_type[exception_type]}).",
                )
            else:
                first_for_type[exception_type] = index
        if tools is not None:
            _check_step_tools(playbook, path, tools, report)


def _check_step_tools(playbook: dict, path: str, tools: set[str], report: _Report) -> None:
    for step_path, name, kind in step_tool_refs_detailed(playbook, tools):
        if name in tools:
            continue
        if kind == "tool" and not report.skip_error():
            report.error(
                "unknown_reference",
                f"{path}{step_path}/tool",
                f"Step uses tool {shorten(name)}, which is not defined.",
                report.closest(name, tools),
            )
        elif kind == "call" and not report.skip_warning():
            report.warning(
                "unknown_tool_call",
                f"{path}{step_path}",
                f"Step text calls {shorten(name)}(…), which names no tool.",
                report.closest(name, tools),
            )


def _check_tool_lists(
    guardrails: Any, base: str, tools: set[str], report: _Report, where: str
) -> None:
    if not isinstance(guardrails, dict):
        return
    for key in ("allowLists", "blockLists"):
        names = guardrails.get(key)
        if not isinstance(names, list):
            continue
        for index, name in enumerate(names):
            if isinstance(name, str) and name not in tools and not report.skip_error():
                report.error(
                    "unknown_reference",
                    f"{base}/{key}/{index}",
                    f"Guardrail lists tool {shorten(name)}, which is not one of the {where}.",
                    report.closest(name, tools),
                )


# ----------------------------------------------------------------------------- tenant packs


def _check_tenant(content: dict[str, Any], report: _Report) -> None:
    _check_playbooks(content.get("customPlaybooks"), "/customPlaybooks", None, None, report)


def _domain_pack_missing(content: dict[str, Any], report: _Report) -> None:
    """Checked against no domain pack: the references to the domain (exception types, tools,
    playbooks) were not checked at all, which a bare `valid: true` would hide (issue 25)."""
    domain = content.get("domainName")
    named = f"domain {domain!r}" if isinstance(domain, str) and domain else "its domain"
    report.warning(
        DOMAIN_PACK_MISSING,
        "/domainName",
        f"No domain pack of {named} to check against: references to the domain's exception "
        "types, tools and playbooks were not checked.",
        "Import the domain pack first (or name a stored version), then validate again.",
    )


def _check_tenant_against_domain(
    content: dict[str, Any], domain: dict[str, Any], report: _Report
) -> None:
    domain_name = domain.get("domainName")
    if content.get("domainName") != domain_name and isinstance(content.get("domainName"), str):
        report.error(
            "domain_mismatch",
            "/domainName",
            f"The tenant pack is for domain {shorten(content['domainName'])}, "
            f"but the domain pack is {shorten(str(domain_name))}.",
        )
    types, tools = exception_type_names(domain), tool_names(domain)
    where = "domain pack's tools"
    approved = content.get("approvedTools")
    if isinstance(approved, list):
        for index, name in enumerate(approved):
            if isinstance(name, str) and name not in tools and not report.skip_error():
                report.error(
                    "unknown_reference",
                    f"/approvedTools/{index}",
                    f"Approved tool {shorten(name)} is not one of the {where}.",
                    report.closest(name, tools),
                )
    overrides = content.get("customSeverityOverrides")
    if isinstance(overrides, list):
        for index, override in enumerate(overrides):
            name = override.get("exceptionType") if isinstance(override, dict) else None
            if isinstance(name, str) and name not in types and not report.skip_error():
                report.error(
                    "unknown_reference",
                    f"/customSeverityOverrides/{index}/exceptionType",
                    f"Severity override for exception type {shorten(name)}, "
                    "which the domain pack does not define.",
                    report.closest(name, types),
                )
    custom = content.get("customPlaybooks")
    if isinstance(custom, list):
        for index, playbook in enumerate(custom):
            if not isinstance(playbook, dict):
                continue
            path = f"/customPlaybooks/{index}"
            name = playbook.get("exceptionType")
            if isinstance(name, str) and name not in types and not report.skip_error():
                report.error(
                    "unknown_reference",
                    f"{path}/exceptionType",
                    f"Custom playbook for exception type {shorten(name)}, "
                    "which the domain pack does not define.",
                    report.closest(name, types),
                )
            _check_step_tools(playbook, path, tools, report)
    _check_tool_lists(content.get("customGuardrails"), "/customGuardrails", tools, report, where)


# ----------------------------------------------------------------------------- summaries


def _count(value: Any) -> int:
    return len(value) if isinstance(value, (dict, list)) else 0


def domain_summary(content: Any) -> dict[str, int]:
    content = content if isinstance(content, dict) else {}
    playbooks = content.get("playbooks") if isinstance(content.get("playbooks"), list) else []
    guardrails = content.get("guardrails") if isinstance(content.get("guardrails"), dict) else {}
    return {
        "entities": _count(content.get("entities")),
        "exceptionTypes": _count(content.get("exceptionTypes")),
        "severityRules": _count(content.get("severityRules")),
        "tools": _count(content.get("tools")),
        "playbooks": len(playbooks),
        "playbookSteps": sum(_count(p.get("steps")) for p in playbooks if isinstance(p, dict)),
        "guardrailAllowLists": _count(guardrails.get("allowLists")),
        "guardrailBlockLists": _count(guardrails.get("blockLists")),
        "testSuites": _count(content.get("testSuites")),
    }


def tenant_summary(content: Any) -> dict[str, int]:
    content = content if isinstance(content, dict) else {}
    guardrails = content.get("customGuardrails")
    guardrails = guardrails if isinstance(guardrails, dict) else {}
    return {
        "customSeverityOverrides": _count(content.get("customSeverityOverrides")),
        "approvedTools": _count(content.get("approvedTools")),
        "humanApprovalRules": _count(content.get("humanApprovalRules")),
        "customPlaybooks": _count(content.get("customPlaybooks")),
        "guardrailAllowLists": _count(guardrails.get("allowLists")),
        "guardrailBlockLists": _count(guardrails.get("blockLists")),
    }
