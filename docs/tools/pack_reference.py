"""Generate the reference part of docs/pack-management-guide.md from the code itself.

- Field tables: walked from packs/schemas/*.schema.json (descriptions, types, required keys).
- Validation findings: each example is a small pack run through packs.validation and
  onboarding.intake, so the codes, paths and messages shown are exactly what the service answers.

    python -m docs.tools.pack_reference          # rewrite the generated block in the guide
    python -m docs.tools.pack_reference --check  # exit 1 when the guide is out of date

tests/docs/test_docs_examples.py runs the check, so a schema change without a doc update fails.
"""

import copy
import json
import sys
from pathlib import Path
from typing import Any

GUIDE = Path(__file__).resolve().parents[1] / "pack-management-guide.md"
BEGIN = "<!-- BEGIN GENERATED: python -m docs.tools.pack_reference -->"
END = "<!-- END GENERATED -->"

# ----------------------------------------------------------------------------- schema tables


def _type_of(node: dict[str, Any], kind_prefix: str) -> str:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(kind_prefix, name)})"
    if "enum" in node:
        return " | ".join(f"`{value}`" for value in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    for key in ("oneOf", "anyOf"):
        if key in node:
            return " or ".join(_type_of(option, kind_prefix) for option in node[key])
    kind = node.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"array of {_type_of(node.get('items', {}), kind_prefix)}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"object: name → {_type_of(node['additionalProperties'], kind_prefix)}"
    return kind


def _constraints(node: dict[str, Any]) -> str:
    names = ("minLength", "maxLength", "minimum", "maximum", "minItems", "pattern", "uniqueItems")
    return ", ".join(f"{name} {node[name]}" for name in names if name in node)


def _anchor(kind_prefix: str, name: str) -> str:
    return f"{kind_prefix}-{name.lower()}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _object_table(node: dict[str, Any], kind_prefix: str) -> list[str]:
    props = node.get("properties") or {}
    required = set(node.get("required") or [])
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, prop in props.items():
        extra = _constraints(prop)
        description = prop.get("description", "")
        if extra:
            description = f"{description} ({extra})" if description else extra
        kind = _cell(_type_of(prop, kind_prefix))
        needed = "yes" if name in required else "no"
        lines.append(f"| `{name}` | {kind} | {needed} | {_cell(description)} |")
    closed = node.get("additionalProperties") is False
    lines.append("")
    lines.append(
        "Other keys are refused (`unsupported_key`)."
        if closed
        else "Other keys are accepted as they are."
    )
    return lines


def schema_section(pack_type: str) -> list[str]:
    from packs.validation import load_schema

    schema = load_schema(pack_type)
    title = "Domain pack" if pack_type == "domain" else "Tenant pack"
    lines = [
        f"### {title} fields (`packs/schemas/{pack_type}_pack.schema.json`)",
        "",
        schema.get("description", ""),
        "",
        *_object_table(schema, pack_type),
    ]
    for name, node in (schema.get("$defs") or {}).items():
        lines += [
            "",
            f'<a id="{_anchor(pack_type, name)}"></a>',
            "",
            f"#### `{name}` ({title.lower()})",
        ]
        if node.get("description"):
            lines += ["", node["description"]]
        lines.append("")
        if node.get("type") == "object" and "properties" in node:
            lines += _object_table(node, pack_type)
        else:
            extra = _constraints(node)
            lines.append(
                f"Type: {_type_of(node, pack_type)}" + (f" ({extra})" if extra else "") + "."
            )
    return lines


# ----------------------------------------------------------------------------- findings


def _base_domain() -> dict[str, Any]:
    return {
        "domainName": "Demo",
        "exceptionTypes": {"LATE_SETTLEMENT": {"description": "Settlement is late."}},
        "severityRules": [
            {"condition": "exceptionType == 'LATE_SETTLEMENT'", "severity": "HIGH"},
        ],
        "tools": {"getSettlement": {"description": "Read a settlement."}},
        "playbooks": [
            {
                "exceptionType": "LATE_SETTLEMENT",
                "steps": [{"action": "Read the settlement", "tool": "getSettlement"}],
            }
        ],
        "guardrails": {"allowLists": ["getSettlement"], "blockLists": []},
    }


def _base_tenant() -> dict[str, Any]:
    return {"tenantId": "TENANT_DEMO", "domainName": "Demo", "approvedTools": ["getSettlement"]}


def _edit(base: dict[str, Any], change) -> dict[str, Any]:
    pack = copy.deepcopy(base)
    change(pack)
    return pack


# (code, what is wrong, the fix, pack type, the pack or raw bytes)
def _cases() -> list[tuple[str, str, str, str, Any]]:
    domain, tenant = _base_domain(), _base_tenant()
    return [
        (
            "malformed_json",
            "The file is not JSON (here: a trailing comma).",
            "Fix the mistake the message names, at its line and column.",
            "domain",
            b'{"domainName": "Demo",}',
        ),
        (
            "invalid_encoding",
            "The bytes are not UTF-8 (here: Latin-1).",
            "Save the file as UTF-8.",
            "domain",
            '{"domainName": "Démo"}'.encode("latin-1"),
        ),
        (
            "not_a_json_file",
            "The file is not text at all (here: a PNG image chosen by mistake).",
            "Choose the pack's `.json` file.",
            "domain",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        ),
        (
            "not_an_object",
            "The top level is not a JSON object.",
            "Wrap the pack in `{...}`.",
            "domain",
            b"[1, 2]",
        ),
        (
            "duplicate_key",
            "A key appears twice in one object (plain JSON parsers silently keep the last one).",
            "Keep one of them.",
            "domain",
            b'{"domainName": "Demo", "domainName": "Other", "exceptionTypes": {}}',
        ),
        (
            "invalid_number",
            "`NaN` or `Infinity` (not JSON, though many encoders write it), a number that "
            "overflows to infinity (`1e999`), an integer outside the 64-bit range (of any length: "
            "a 5,000-digit one is refused the same way) or a float of magnitude 2^63 or more.",
            "Use a number within the 64-bit range, or `null`.",
            "domain",
            b'{"domainName": "Demo", "exceptionTypes": {}, "threshold": NaN}',
        ),
        (
            "invalid_string",
            "A string holds `\\u0000` or a lone surrogate (PostgreSQL `jsonb` cannot store them).",
            "Remove the character.",
            "domain",
            b'{"domainName": "Demo\\u0000", "exceptionTypes": {}}',
        ),
        (
            "missing_required",
            "A required key is absent.",
            "Add the key named by the path.",
            "domain",
            _edit(domain, lambda p: p.pop("exceptionTypes")),
        ),
        (
            "wrong_type",
            "A value has the wrong JSON type.",
            "Use the type the message names (see the field tables).",
            "domain",
            _edit(domain, lambda p: p["playbooks"][0].update(steps="Read the settlement")),
        ),
        (
            "unsupported_key",
            "A key the schema does not define (typos, keys of the older pack shape); the hint "
            "names the closest supported key.",
            "Rename it to the hint, or remove it.",
            "domain",
            _edit(
                domain,
                lambda p: p["severityRules"][0].update(
                    {"if": p["severityRules"][0].pop("condition")}
                ),
            ),
        ),
        (
            "invalid_value",
            "A value outside the allowed set (here: a severity).",
            "Use one of the listed values.",
            "domain",
            _edit(domain, lambda p: p["severityRules"][0].update(severity="URGENT")),
        ),
        (
            "invalid_condition",
            "A severity rule's `condition` is not valid CEL; the hint gives the column.",
            "Correct the expression (CEL uses `==`, `&&`, `||`, `in`, single or double quotes).",
            "domain",
            _edit(domain, lambda p: p["severityRules"][0].update(condition="exceptionType = 'X'")),
        ),
        (
            "invalid_condition",
            "(limits) A condition the evaluator could not run safely, refused before it is "
            "compiled: over 2,000 characters or 500 tokens, brackets and ternaries nested over "
            "12 deep, chains of operators, field selections, indexes and calls over 64 deep; "
            "`map` and `filter` (their cost is the square of the list); `all`, `exists` and "
            "`exists_one` nested, or reading anything but their loop variable and literals; "
            "`matches` without a literal pattern, inside a comprehension, or with patterns too "
            "costly to compile (`\\w{20}`, `(.{1000}){1000}`); more than 250,000 characters of "
            "conditions outside plain comparisons in one pack.",
            "Split the condition into several rules, or simplify it.",
            "domain",
            _edit(
                domain,
                lambda p: p["severityRules"][0].update(condition="rawPayload" + ".a" * 70),
            ),
        ),
        (
            "unknown_reference",
            "A playbook, step `tool`, guardrail list entry, approved tool, severity override or "
            "custom playbook names something that does not exist (an error); a severity rule "
            "naming an unknown exception type is a warning.",
            "Use a defined name (the hint gives the closest one) or define it.",
            "domain",
            _edit(domain, lambda p: p["playbooks"][0]["steps"][0].update(tool="getSettlment")),
        ),
        (
            "duplicate_playbook",
            "Two playbooks for one exception type.",
            "Merge them into one.",
            "domain",
            _edit(domain, lambda p: p["playbooks"].append(copy.deepcopy(p["playbooks"][0]))),
        ),
        (
            "unknown_tool_call",
            "Warning: step text calls `name(…)` and no tool has that name.",
            "Name a defined tool, or add the tool to `tools`.",
            "domain",
            _edit(
                domain,
                lambda p: p["playbooks"][0]["steps"].append({"action": "Then retrySettlement(id)"}),
            ),
        ),
        (
            "self_test_failed",
            "Warning: a `testSuites` case expects a severity or playbook the pack's own rules "
            "do not give.",
            "Fix the rule or the expectation.",
            "domain",
            _edit(
                domain,
                lambda p: p.update(
                    testSuites=[
                        {
                            "input": {"exceptionType": "LATE_SETTLEMENT", "rawPayload": {}},
                            "expectedOutput": {"severity": "CRITICAL"},
                        }
                    ]
                ),
            ),
        ),
        (
            "self_test_skipped",
            "Warning: the self-tests from this case on were not run: with their payloads, the "
            "conditions would cost more than a validation may spend on self-tests (unguarded "
            "rules that scan large payloads, many times over).",
            "Use smaller payloads in `testSuites`, or guard rules with `exceptionType == '...'`.",
            "domain",
            _edit(
                domain,
                lambda p: (
                    p["severityRules"].extend(
                        {
                            "condition": f"rawPayload.v == {i} || rawPayload.w in [1]",
                            "severity": "LOW",
                        }
                        for i in range(400)
                    ),
                    p.update(
                        testSuites=[
                            {
                                "input": {
                                    "exceptionType": "EARLY_SETTLEMENT",
                                    "rawPayload": {"v": -1, "l": list(range(3_000))},
                                },
                                "expectedOutput": {"severity": "HIGH"},
                            }
                        ]
                    ),
                ),
            ),
        ),
        (
            "too_many_findings",
            "The last error (or warning) when a report holds more than 1,000 of them: the first "
            "1,000 found are listed, and this one gives the full count.",
            "Fix the listed findings (usually one mistake repeated) and validate again.",
            "domain",
            _edit(
                domain,
                lambda p: p["guardrails"].update(blockLists=[f"tool{i}" for i in range(1_200)]),
            ),
        ),
        (
            "plaintext_secret",
            "Warning: a key such as `apiKey`, `password`, `secret` or `token` holds a literal "
            "value.",
            "Store a reference (`${SECRET_NAME}`, `vault://path`) instead.",
            "domain",
            _edit(domain, lambda p: p["tools"]["getSettlement"].update(apiKey="sk-live-1234")),
        ),
        (
            "domain_mismatch",
            "A tenant pack checked against a domain pack of another domain.",
            "Set `domainName` to the domain pack's, or check against the right domain.",
            "tenant",
            _edit(tenant, lambda p: p.update(domainName="Other")),
        ),
        (
            "unknown_reference",
            "(tenant pack) An approved tool, severity override or custom playbook the domain pack "
            "does not define.",
            "Use the domain pack's names, or import a domain pack version that defines them.",
            "tenant",
            _edit(tenant, lambda p: p["approvedTools"].append("getSettlment")),
        ),
    ]


def _run(pack_type: str, pack: Any) -> tuple[list[dict], list[dict]]:
    from onboarding.errors import ServiceError
    from onboarding.intake import load_json_object
    from packs.validation import validate_domain_pack, validate_tenant_pack

    if isinstance(pack, bytes):
        try:
            pack = load_json_object(pack)
        except ServiceError as exc:
            return exc.errors, []
    if pack_type == "domain":
        report = validate_domain_pack(pack)
    else:
        report = validate_tenant_pack(pack, domain_pack_content=_base_domain())
    return report["errors"], report["warnings"]


def findings_section() -> list[str]:
    lines = []
    for code, problem, fix, pack_type, pack in _cases():
        errors, warnings = _run(pack_type, pack)
        shown = [f for f in errors + warnings if f["code"] == code] or errors + warnings
        lines += [
            f"#### `{code}`" + (" (tenant pack)" if pack_type == "tenant" else ""),
            "",
            f"{problem} **Fix:** {fix}",
            "",
            "```json",
            json.dumps(shown[:1], indent=2, ensure_ascii=False),
            "```",
            "",
        ]
    return lines


def render() -> str:
    import django

    django.setup()
    lines = [
        BEGIN,
        "",
        "## Reference: pack fields",
        "",
        "Generated from the JSON Schemas (served at `/admin/packs/schema/domain` and "
        "`/admin/packs/schema/tenant`).",
        "",
        *schema_section("domain"),
        "",
        *schema_section("tenant"),
        "",
        "## Reference: validation findings",
        "",
        "Each example below was produced by running the validator on the small domain pack",
        "",
        "```json",
        json.dumps(_base_domain(), indent=2),
        "```",
        "",
        "(or the tenant pack `" + json.dumps(_base_tenant()) + "` checked against it) "
        "with one thing broken. Intake codes (before validation) come as a 400 problem "
        "for the whole request; validation codes come in the report's `errors` (blocking) or "
        "`warnings` (informational).",
        "",
        *findings_section(),
        END,
    ]
    return "\n".join(lines) + "\n"


def _splice(text: str, block: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + block.rstrip("\n") + text[end:]


def main(argv: list[str]) -> int:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    os.environ.setdefault("DEBUG", "true")
    current = GUIDE.read_text(encoding="utf-8")
    wanted = _splice(current, render())
    if "--check" in argv:
        if wanted != current:
            print(f"{GUIDE} is out of date: run python -m docs.tools.pack_reference")
            return 1
        return 0
    GUIDE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
