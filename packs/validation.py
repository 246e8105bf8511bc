"""Pack validation (DESIGN §7): the canonical JSON Schemas, cross-references, CEL conditions,
self-tests and secret detection, as one report

    {valid, pack_type, checksum, errors[], warnings[], summary{...}, checked_against}

with findings `{code, path, message, hint?}` ordered by path. Content is expected to have passed
the strict intake (packs.intake); every check reads it defensively, so a wrongly shaped pack gets
findings, never an exception.

Schema engine: jsonschema-rs answers "valid?" in microseconds; only an invalid pack goes through
the pure-Python `jsonschema` to enumerate its errors, so the findings are exactly what the
reference implementation of Draft 2020-12 reports.
"""

import difflib
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs

from onboarding.errors import finding

from .canonical import canonical_json
from .cel import CelError, compile_conditions, condition_matches
from .content import exception_type_names, playbook_id, step_tool_refs_detailed, tool_names
from .intake import json_type_name, pointer_token, shorten

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_FILES = {"domain": "domain_pack.schema.json", "tenant": "tenant_pack.schema.json"}
DEFAULT_SEVERITY = "MEDIUM"

# Keys of the older pack shape whose replacement no string similarity would find.
_RENAMED_KEYS = {
    "if": "condition",
    "appliesTo": "exceptionType",
    "toolsAllowList": "approvedTools",
    "guardrailOverrides": "customGuardrails",
    "severityOverrides": "customSeverityOverrides",
}
_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "null": "null",
}
# Exception types a condition names: `exceptionType == 'X'`, `'X' == exceptionType`,
# `exceptionType in ['X', 'Y']`.
_TYPE_EQ = re.compile(
    r"""\bexceptionType\s*==\s*(['"])(.*?)\1|(['"])([^'"]*)\3\s*==\s*exceptionType\b"""
)
_TYPE_IN = re.compile(r"\bexceptionType\s+in\s*\[([^\]]*)\]")
_QUOTED = re.compile(r"""(['"])(.*?)\1""")
_SECRET_KEY_WORDS = ("password", "passwd", "secret", "token", "apikey", "privatekey")
# A cheap pre-scan of the canonical bytes (lower-cased): none of these, no walk needed.
_SECRET_WORD_BYTES = (b"passw", b"secret", b"token", b"apikey", b"api_key", b"privatekey")
# Values that point at a secret store rather than holding the secret.
_SECRET_REFERENCE = re.compile(
    r"^(?:\$\{[^}]+\}|\$[A-Z_][A-Z0-9_]*|(?:env|vault|secret|kms)://?\S+)$"
)


# ----------------------------------------------------------------------------- public interface


def validate_domain_pack(content: Any) -> dict[str, Any]:
    report = _Report("domain", content)
    report.extend(schema_findings(content, "domain"))
    if isinstance(content, dict):
        _check_domain(content, report)
        _check_secrets(report)
    return report.result(summary=domain_summary(content), checked_against=None)


def validate_tenant_pack(
    content: Any,
    *,
    domain_pack_content: dict[str, Any] | None = None,
    checked_against: dict[str, Any] | None = None,
) -> dict[str, Any]:
    report = _Report("tenant", content)
    report.extend(schema_findings(content, "tenant"))
    if isinstance(content, dict):
        _check_tenant(content, report)
        if isinstance(domain_pack_content, dict):
            _check_tenant_against_domain(content, domain_pack_content, report)
            if checked_against is None:
                checked_against = {
                    "domain": domain_pack_content.get("domainName"),
                    "version": domain_pack_content.get("version"),
                }
        _check_secrets(report)
    return report.result(summary=tenant_summary(content), checked_against=checked_against)


class PackValidationService:
    """The validation entry points as one object, for callers that prefer it."""

    validate_domain_pack = staticmethod(validate_domain_pack)
    validate_tenant_pack = staticmethod(validate_tenant_pack)

    @staticmethod
    def detect_type(content: Any) -> str:
        return "tenant" if isinstance(content, dict) and "tenantId" in content else "domain"


def load_schema(pack_type: str) -> dict[str, Any]:
    return json.loads(_schema_text(pack_type))


@functools.cache
def _schema_text(pack_type: str) -> str:
    return (SCHEMA_DIR / SCHEMA_FILES[pack_type]).read_text(encoding="utf-8")


@functools.cache
def _validators(pack_type: str) -> tuple[Any, jsonschema.Draft202012Validator]:
    schema = load_schema(pack_type)
    return jsonschema_rs.Draft202012Validator(schema), jsonschema.Draft202012Validator(schema)


# ----------------------------------------------------------------------------- the report


def _path_key(path: str) -> tuple:
    return tuple(
        (0, int(token), "") if token.isascii() and token.isdigit() else (1, 0, token)
        for token in path.split("/")[1:]
    )


class _Report:
    def __init__(self, pack_type: str, content: Any):
        self.pack_type = pack_type
        self.content = content
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.canonical = _canonical_or_none(content)

    def extend(self, findings: list[dict[str, Any]]) -> None:
        self.errors.extend(findings)

    def error(self, code: str, path: str, message: str, hint: str | None = None) -> None:
        self.errors.append(finding(code, path, message, hint))

    def warning(self, code: str, path: str, message: str, hint: str | None = None) -> None:
        self.warnings.append(finding(code, path, message, hint))

    def result(self, *, summary: dict[str, int], checked_against: Any) -> dict[str, Any]:
        errors, warnings = _ordered(self.errors), _ordered(self.warnings)
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
    fast, exact = _validators(pack_type)
    try:
        valid = fast.is_valid(content)
    except Exception:  # values jsonschema-rs cannot read; the exact engine decides
        valid = False
    if valid:
        return []
    findings: list[dict[str, Any]] = []
    for error in exact.iter_errors(content):
        findings.extend(_map_error(error))
    return findings


def _pointer(parts: Any) -> str:
    return "".join("/" + pointer_token(str(part)) for part in parts)


def _map_error(error: jsonschema.ValidationError) -> list[dict[str, Any]]:
    path = _pointer(error.absolute_path)
    instance, schema, kind = error.instance, error.schema, error.validator
    if kind == "required" and isinstance(instance, dict):
        return [
            finding(
                "missing_required",
                f"{path}/{pointer_token(name)}",
                f"Required key {name!r} is missing.",
            )
            for name in error.validator_value
            if name not in instance
        ]
    if kind == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(name, name) for name in names)
        return [
            finding(
                "wrong_type",
                path,
                f"Expected {wanted}, got {json_type_name(instance)} {_show(instance)}.",
            )
        ]
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        missing = [name for name in schema.get("required", []) if name not in instance]
        extra = [key for key in instance if key not in allowed]
        # One unsupported key where one required key is missing reads as a rename.
        renamed = missing if len(missing) == 1 and len(extra) == 1 else []
        return [
            finding(
                "unsupported_key",
                f"{path}/{pointer_token(key)}",
                f"Key {shorten(key)} is not supported here"
                + (f" (supported: {', '.join(allowed)})." if allowed else "."),
                _closest_key(key, allowed, renamed),
            )
            for key in extra
        ]
    if kind == "enum":
        options = ", ".join(str(option) for option in error.validator_value)
        return [finding("invalid_value", path, f"{_show(instance)} is not one of {options}.")]
    return [finding("invalid_value", path, f"{_show(instance)}: {error.message}")]


def _closest_key(key: str, allowed: list[str], renamed: list[str]) -> str | None:
    if key in _RENAMED_KEYS and _RENAMED_KEYS[key] in allowed:
        return _RENAMED_KEYS[key]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.75)
    if close:
        return close[0]
    return renamed[0] if renamed else None


def _show(value: Any) -> str:
    if isinstance(value, str):
        return shorten(value)
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= 60 else text[:60] + "…"
    return json.dumps(value, default=str)


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
    _run_self_tests(content, compiled, report)


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
    conditions = [rule.get("condition") if isinstance(rule, dict) else None for rule in rules]
    programs = compile_conditions(conditions)
    for index, (rule, condition, program) in enumerate(
        zip(rules, conditions, programs, strict=True)
    ):
        if not isinstance(condition, str):
            continue
        path = f"/severityRules/{index}/condition"
        if isinstance(program, CelError):
            hint = f"column {program.position}" if program.position else None
            report.error(
                "invalid_condition",
                path,
                f"Condition {shorten(condition)} is not valid CEL: {program.message}",
                hint,
            )
            continue
        named = program.named_types
        if named is None:
            named = _named_types(condition)
        for name in named if types is not None else ():
            if name not in types:
                report.warning(
                    "unknown_reference",
                    path,
                    f"Condition names exception type {shorten(name)}, "
                    "which the pack does not define.",
                    _closest(name, types),
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
            if types is not None and exception_type not in types:
                report.error(
                    "unknown_reference",
                    f"{path}/exceptionType",
                    f"Playbook for exception type {shorten(exception_type)}, which is not defined.",
                    _closest(exception_type, types),
                )
            if exception_type in first_for_type:
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
        if kind == "tool":
            report.error(
                "unknown_reference",
                f"{path}{step_path}/tool",
                f"Step uses tool {shorten(name)}, which is not defined.",
                _closest(name, tools),
            )
        elif kind == "call":
            report.warning(
                "unknown_tool_call",
                f"{path}{step_path}",
                f"Step text calls {shorten(name)}(…), which names no tool.",
                _closest(name, tools),
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
            if isinstance(name, str) and name not in tools:
                report.error(
                    "unknown_reference",
                    f"{base}/{key}/{index}",
                    f"Guardrail lists tool {shorten(name)}, which is not one of the {where}.",
                    _closest(name, tools),
                )


def _closest(name: str, candidates: set[str]) -> str | None:
    if not candidates or len(candidates) > 5000:
        return None
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


class _RuleIndex:
    """The compiled rules grouped by the one exception type each can match (when known), so a
    self-test only evaluates the rules that could apply, still in rule order."""

    def __init__(self, compiled: list[tuple[int, Any, str]]):
        self.compiled = compiled
        self.by_type: dict[str, list[int]] = {}
        self.unguarded: list[int] = []
        for position, (_, program, _) in enumerate(compiled):
            guard = program.exception_type
            if guard is None:
                self.unguarded.append(position)
            else:
                self.by_type.setdefault(guard, []).append(position)

    def evaluate(self, exception_type: Any, raw_payload: Any) -> tuple[str, int | None]:
        """First matching rule's severity and index, else the default and None."""
        guarded = self.by_type.get(exception_type, []) if isinstance(exception_type, str) else []
        activation = {"exceptionType": exception_type, "rawPayload": raw_payload}
        for position in sorted(guarded + self.unguarded):
            index, program, severity = self.compiled[position]
            if condition_matches(program, activation):
                return severity, index
        return DEFAULT_SEVERITY, None


def _run_self_tests(
    content: dict[str, Any], compiled: list[tuple[int, Any, str]], report: _Report
) -> None:
    cases = content.get("testSuites")
    if not isinstance(cases, list):
        return
    rules = _RuleIndex(compiled)
    playbooks = {
        playbook.get("exceptionType"): playbook_id(playbook)
        for playbook in reversed(content.get("playbooks") or [])
        if isinstance(playbook, dict)
    }
    for index, case in enumerate(cases):
        if not isinstance(case, dict):
            continue
        given, expected = case.get("input"), case.get("expectedOutput")
        if not isinstance(given, dict) or not isinstance(expected, dict):
            continue
        exception_type = given.get("exceptionType")
        raw_payload = given.get("rawPayload", {})
        path = f"/testSuites/{index}"
        want = expected.get("severity")
        if want is not None:
            got, rule = rules.evaluate(exception_type, raw_payload)
            if got != want:
                source = (
                    f"from /severityRules/{rule}"
                    if rule is not None
                    else "no severity rule matches, so the default applies"
                )
                report.warning(
                    "self_test_failed",
                    path,
                    f"Expected severity {want} for {exception_type}, got {got} ({source}).",
                )
        want_playbook = expected.get("playbookId")
        if want_playbook is not None:
            got_playbook = playbooks.get(exception_type)
            if got_playbook != want_playbook:
                report.warning(
                    "self_test_failed",
                    path,
                    f"Expected playbook {want_playbook} for {exception_type}, "
                    f"got {got_playbook or 'none'}.",
                )
        want_type = expected.get("exceptionType")
        if want_type is not None and want_type != exception_type:
            report.warning(
                "self_test_failed",
                path,
                f"Expected exception type {want_type}, got {exception_type}.",
            )


# ----------------------------------------------------------------------------- tenant packs


def _check_tenant(content: dict[str, Any], report: _Report) -> None:
    _check_playbooks(content.get("customPlaybooks"), "/customPlaybooks", None, None, report)


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
            if isinstance(name, str) and name not in tools:
                report.error(
                    "unknown_reference",
                    f"/approvedTools/{index}",
                    f"Approved tool {shorten(name)} is not one of the {where}.",
                    _closest(name, tools),
                )
    overrides = content.get("customSeverityOverrides")
    if isinstance(overrides, list):
        for index, override in enumerate(overrides):
            name = override.get("exceptionType") if isinstance(override, dict) else None
            if isinstance(name, str) and name not in types:
                report.error(
                    "unknown_reference",
                    f"/customSeverityOverrides/{index}/exceptionType",
                    f"Severity override for exception type {shorten(name)}, "
                    "which the domain pack does not define.",
                    _closest(name, types),
                )
    custom = content.get("customPlaybooks")
    if isinstance(custom, list):
        for index, playbook in enumerate(custom):
            if not isinstance(playbook, dict):
                continue
            path = f"/customPlaybooks/{index}"
            name = playbook.get("exceptionType")
            if isinstance(name, str) and name not in types:
                report.error(
                    "unknown_reference",
                    f"{path}/exceptionType",
                    f"Custom playbook for exception type {shorten(name)}, "
                    "which the domain pack does not define.",
                    _closest(name, types),
                )
            _check_step_tools(playbook, path, tools, report)
    _check_tool_lists(content.get("customGuardrails"), "/customGuardrails", tools, report, where)


# ----------------------------------------------------------------------------- secrets


def _is_secret_key(key: str) -> bool:
    folded = key.lower().replace("-", "").replace("_", "")
    return any(word in folded for word in _SECRET_KEY_WORDS)


def _check_secrets(report: _Report) -> None:
    canonical = report.canonical
    if canonical is not None:
        lowered = canonical.lower()
        if not any(word in lowered for word in _SECRET_WORD_BYTES):
            return
    stack: list[tuple[Any, str]] = [(report.content, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}/{pointer_token(str(key))}"
                if (
                    isinstance(value, str)
                    and value
                    and _is_secret_key(str(key))
                    and not _SECRET_REFERENCE.match(value)
                ):
                    report.warning(
                        "plaintext_secret",
                        child,
                        f"Key {shorten(str(key))} holds what looks like a secret in plain text.",
                        "Store a reference such as ${SECRET_NAME} or vault://path instead.",
                    )
                stack.append((value, child))
        elif isinstance(node, list):
            stack.extend((item, f"{path}/{index}") for index, item in enumerate(node))


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
