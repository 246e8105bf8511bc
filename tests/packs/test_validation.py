"""Pack validation: the reference packs give exactly their documented outcomes, each finding code
is reported with its path and names the offending value, and nothing but a report or an intake
error ever comes out."""

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from onboarding.intake import IntakeError, load_json_object
from packs.canonical import canonical_json, checksum
from packs.validation import (
    SCHEMA_DIR,
    _canonical_or_none,
    load_schema,
    schema_findings,
    validate_domain_pack,
    validate_tenant_pack,
)
from tests.conftest import REFERENCE, load_reference


def codes_and_paths(findings):
    return [(item["code"], item["path"]) for item in findings]


def only(findings, code):
    return [item for item in findings if item["code"] == code]


# ----------------------------------------------------------------------------- reference packs


def test_validate_domain_pack__finance_reference__valid_with_self_test_warning(finance_domain):
    report = validate_domain_pack(finance_domain)
    assert report["valid"] is True
    assert report["pack_type"] == "domain"
    assert report["errors"] == []
    assert codes_and_paths(report["warnings"]) == [("self_test_failed", "/testSuites/0")]
    message = report["warnings"][0]["message"]
    assert "HIGH" in message and "MEDIUM" in message and "MISMATCHED_TRADE_DETAILS" in message
    assert report["checksum"] == checksum(finance_domain)
    assert report["checked_against"] is None
    assert report["summary"] == {
        "entities": 8,
        "exceptionTypes": 7,
        "severityRules": 4,
        "tools": 13,
        "playbooks": 5,
        "playbookSteps": 23,
        "guardrailAllowLists": 0,
        "guardrailBlockLists": 0,
        "testSuites": 2,
    }


def test_validate_domain_pack__acme_reference__valid_without_findings(acme_domain):
    report = validate_domain_pack(acme_domain)
    assert (report["valid"], report["errors"], report["warnings"]) == (True, [], [])


def test_validate_tenant_pack__finance_tenant_against_finance__valid(
    finance_tenant, finance_domain
):
    report = validate_tenant_pack(
        finance_tenant,
        domain_pack_content=finance_domain,
        checked_against={"domain": "CapitalMarketsTrading", "version": "v3.2"},
    )
    assert (report["valid"], report["errors"], report["warnings"]) == (True, [], [])
    assert report["checked_against"] == {"domain": "CapitalMarketsTrading", "version": "v3.2"}
    assert report["summary"]["approvedTools"] == 13


def test_validate_tenant_pack__finance_tenant_against_acme__each_reason_listed(
    finance_tenant, acme_domain
):
    report = validate_tenant_pack(finance_tenant, domain_pack_content=acme_domain)
    assert report["valid"] is False
    assert codes_and_paths(report["errors"]) == [
        ("unknown_reference", f"/approvedTools/{index}")
        for index in (0, 1, 2, 3, 4, 5, 7, 9, 11, 12)
    ] + [
        ("unknown_reference", "/customSeverityOverrides/0/exceptionType"),
        ("unknown_reference", "/customSeverityOverrides/1/exceptionType"),
    ]
    assert "getOrder" in report["errors"][0]["message"]
    assert "REG_REPORT_REJECTED" in report["errors"][-2]["message"]


def test_validate_tenant_pack__without_domain_pack__schema_only(finance_tenant):
    report = validate_tenant_pack(finance_tenant)
    assert (report["valid"], report["checked_against"]) == (True, None)


def test_validate_domain_pack__healthcare_legacy__each_deviation_at_its_pointer():
    report = validate_domain_pack(load_reference("domain_healthcare_legacy.json"))
    assert report["valid"] is False
    errors = {(item["code"], item["path"]): item for item in report["errors"]}
    assert errors[("unsupported_key", "/severityRules/0/if")]["hint"] == "condition"
    assert ("missing_required", "/severityRules/0/condition") in errors
    assert ("missing_required", "/playbooks/0/exceptionType") in errors
    assert errors[("unsupported_key", "/playbooks/0/appliesTo")]["hint"] == "exceptionType"
    assert ("wrong_type", "/playbooks/0/steps/0") in errors
    assert ("wrong_type", "/tools/dbQueries") in errors
    assert ("unsupported_key", "/guardrails/noAutoActionIfSeverityIn") in errors
    assert ("unsupported_key", "/exceptionTypes/CLAIM_MISSING_AUTH/defaultSeverity") in errors
    assert ("missing_required", "/entities/Patient/attributes") in errors
    assert ("missing_required", "/testSuites/0/input") in errors


def test_validate_tenant_pack__healthcare_legacy__domain_name_missing_and_keys_unsupported():
    report = validate_tenant_pack(load_reference("tenant_healthcare_042_legacy.json"))
    assert report["valid"] is False
    assert codes_and_paths(report["errors"]) == [
        ("missing_required", "/domainName"),
        ("unsupported_key", "/environment"),
        ("unsupported_key", "/guardrailOverrides"),
        ("unsupported_key", "/notificationPolicies"),
        ("unsupported_key", "/routingRules"),
        ("unsupported_key", "/tenantName"),
        ("unsupported_key", "/toolsAllowList"),
        ("unsupported_key", "/workflowPolicies"),
    ]
    hints = {item["path"]: item.get("hint") for item in report["errors"]}
    assert hints["/toolsAllowList"] == "approvedTools"
    assert hints["/guardrailOverrides"] == "customGuardrails"


# ----------------------------------------------------------------------------- one per code


def test_validate_domain_pack__required_key_missing__missing_required(finance_domain):
    del finance_domain["severityRules"][1]["severity"]
    report = validate_domain_pack(finance_domain)
    [item] = only(report["errors"], "missing_required")
    assert item["path"] == "/severityRules/1/severity"
    assert "'severity'" in item["message"]


def test_validate_domain_pack__wrong_type__wrong_type(finance_domain):
    finance_domain["guardrails"]["humanApprovalThreshold"] = "high"
    report = validate_domain_pack(finance_domain)
    [item] = report["errors"]
    assert (item["code"], item["path"]) == ("wrong_type", "/guardrails/humanApprovalThreshold")
    assert "'high'" in item["message"] and "number" in item["message"]


def test_validate_domain_pack__misspelt_key__unsupported_key_with_closest_hint(finance_domain):
    finance_domain["severityRules"][0]["severty"] = "LOW"
    report = validate_domain_pack(finance_domain)
    [item] = report["errors"]
    assert (item["code"], item["path"]) == ("unsupported_key", "/severityRules/0/severty")
    assert item["hint"] == "severity"
    assert "'severty'" in item["message"]


def test_validate_domain_pack__unknown_severity_value__invalid_value(finance_domain):
    finance_domain["severityRules"][0]["severity"] = "SEVERE"
    [item] = validate_domain_pack(finance_domain)["errors"]
    assert (item["code"], item["path"]) == ("invalid_value", "/severityRules/0/severity")
    assert "SEVERE" in item["message"]


def test_validate_domain_pack__playbook_for_unknown_type__unknown_reference(finance_domain):
    finance_domain["playbooks"][2]["exceptionType"] = "POSITION_BRAKE"
    report = validate_domain_pack(finance_domain)
    [item] = report["errors"]
    assert (item["code"], item["path"]) == ("unknown_reference", "/playbooks/2/exceptionType")
    assert "POSITION_BRAKE" in item["message"]
    assert item["hint"] == "POSITION_BREAK"


def test_validate_domain_pack__structured_step_tool_unknown__unknown_reference(finance_domain):
    finance_domain["playbooks"][0]["steps"][1]["tool"] = "getOrdr"
    finance_domain["playbooks"][0]["steps"][2]["tool"] = "getOrder"
    [item] = validate_domain_pack(finance_domain)["errors"]
    assert (item["code"], item["path"]) == ("unknown_reference", "/playbooks/0/steps/1/tool")
    assert "getOrdr" in item["message"] and item["hint"] == "getOrder"


def test_validate_domain_pack__guardrail_lists_unknown_tool__unknown_reference(finance_domain):
    finance_domain["guardrails"]["allowLists"] = ["getOrder", "dropTables"]
    finance_domain["guardrails"]["blockLists"] = ["nukeAll"]
    report = validate_domain_pack(finance_domain)
    assert codes_and_paths(report["errors"]) == [
        ("unknown_reference", "/guardrails/allowLists/1"),
        ("unknown_reference", "/guardrails/blockLists/0"),
    ]
    assert "dropTables" in report["errors"][0]["message"]
    assert "nukeAll" in report["errors"][1]["message"]


def test_validate_domain_pack__rule_names_unknown_type__warning(finance_domain):
    finance_domain["severityRules"][1]["condition"] = "exceptionType == 'CASH_BRAKE'"
    report = validate_domain_pack(finance_domain)
    assert report["valid"] is True
    [item] = only(report["warnings"], "unknown_reference")
    assert item["path"] == "/severityRules/1/condition"
    assert "CASH_BRAKE" in item["message"] and item["hint"] == "CASH_BREAK"


def test_validate_domain_pack__two_playbooks_for_one_type__duplicate_playbook(finance_domain):
    finance_domain["playbooks"].append(copy.deepcopy(finance_domain["playbooks"][1]))
    [item] = validate_domain_pack(finance_domain)["errors"]
    assert (item["code"], item["path"]) == ("duplicate_playbook", "/playbooks/5")
    assert "FAILED_ALLOCATION" in item["message"] and "/playbooks/1" in item["message"]


def test_validate_domain_pack__condition_not_cel__invalid_condition_with_position(
    finance_domain,
):
    finance_domain["severityRules"][2]["condition"] = "exceptionType === 'SETTLEMENT_FAIL'"
    [item] = validate_domain_pack(finance_domain)["errors"]
    assert (item["code"], item["path"]) == ("invalid_condition", "/severityRules/2/condition")
    assert "exceptionType === 'SETTLEMENT_FAIL'" in item["message"]
    assert "column 17" in item["message"] and item["hint"] == "column 17"


def test_validate_domain_pack__step_calls_unknown_name__unknown_tool_call_warning(
    finance_domain,
):
    finance_domain["playbooks"][3]["steps"][0]["action"] = "Fetch with fetchSettlement(orderId)"
    report = validate_domain_pack(finance_domain)
    assert report["valid"] is True
    [item] = only(report["warnings"], "unknown_tool_call")
    assert item["path"] == "/playbooks/3/steps/0"
    assert "fetchSettlement" in item["message"]


def test_validate_domain_pack__self_test_expects_other_severity__self_test_failed(
    finance_domain,
):
    finance_domain["testSuites"] = [
        {
            "input": {"exceptionType": "CASH_BREAK", "rawPayload": {}},
            "expectedOutput": {"severity": "LOW"},
        },
        {
            "input": {"exceptionType": "SEC_MASTER_MISMATCH", "rawPayload": {"impact": "ECONOMIC"}},
            "expectedOutput": {"severity": "MEDIUM", "playbookId": "SEC_MASTER_MISMATCH"},
        },
    ]
    report = validate_domain_pack(finance_domain)
    assert codes_and_paths(report["warnings"]) == [
        ("self_test_failed", "/testSuites/0"),
        ("self_test_failed", "/testSuites/1"),
    ]
    first, second = (item["message"] for item in report["warnings"])
    assert "LOW" in first and "HIGH" in first and "/severityRules/1" in first
    assert "SEC_MASTER_MISMATCH" in second and "playbook" in second


def test_validate_domain_pack__plaintext_secret__warning(finance_domain):
    finance_domain["playbooks"][0]["steps"][0]["parameters"] = {"apiKey": "sk-live-123"}
    finance_domain["playbooks"][1]["steps"][0]["parameters"] = {"password": "${DB_PASSWORD}"}
    report = validate_domain_pack(finance_domain)
    [item] = only(report["warnings"], "plaintext_secret")
    assert item["path"] == "/playbooks/0/steps/0/parameters/apiKey"
    assert "apiKey" in item["message"]


def test_validate_tenant_pack__other_domain__domain_mismatch(finance_tenant, finance_domain):
    finance_tenant["domainName"] = "HealthcareClaims"
    [item] = validate_tenant_pack(finance_tenant, domain_pack_content=finance_domain)["errors"]
    assert (item["code"], item["path"]) == ("domain_mismatch", "/domainName")
    assert "HealthcareClaims" in item["message"] and "CapitalMarketsTrading" in item["message"]


def test_validate_tenant_pack__custom_playbook_refs__resolved_in_domain_pack(
    finance_tenant, finance_domain
):
    finance_tenant["customPlaybooks"] = [
        {"exceptionType": "CASH_BREAK", "steps": [{"action": "Check", "tool": "getOrder"}]},
        {"exceptionType": "UNHEARD_OF", "steps": [{"action": "Run", "tool": "teleport"}]},
        {"exceptionType": "CASH_BREAK", "steps": [{"action": "Again"}]},
    ]
    finance_tenant["customGuardrails"]["blockLists"] = ["launchRocket"]
    report = validate_tenant_pack(finance_tenant, domain_pack_content=finance_domain)
    assert codes_and_paths(report["errors"]) == [
        ("unknown_reference", "/customGuardrails/blockLists/0"),
        ("unknown_reference", "/customPlaybooks/1/exceptionType"),
        ("unknown_reference", "/customPlaybooks/1/steps/0/tool"),
        ("duplicate_playbook", "/customPlaybooks/2"),
    ]
    assert "UNHEARD_OF" in report["errors"][1]["message"]
    assert "teleport" in report["errors"][2]["message"]


def test_validate_tenant_pack__unknown_override_type__unknown_reference(
    finance_tenant, finance_domain
):
    finance_tenant["customSeverityOverrides"].append({"exceptionType": "X_TYPE", "severity": "LOW"})
    [item] = validate_tenant_pack(finance_tenant, domain_pack_content=finance_domain)["errors"]
    assert item["path"] == "/customSeverityOverrides/2/exceptionType"
    assert "X_TYPE" in item["message"]


# ----------------------------------------------------------------------------- properties


def test_validate_domain_pack__findings__ordered_by_numeric_path(finance_domain):
    for _ in range(12):
        finance_domain["severityRules"].append({"condition": "bad ==", "severity": "LOW"})
    paths = [item["path"] for item in validate_domain_pack(finance_domain)["errors"]]
    assert paths == [f"/severityRules/{index}/condition" for index in range(4, 16)]


def test_validate_domain_pack__not_an_object__report_not_exception():
    report = validate_domain_pack(["not", "a", "pack"])
    assert report["valid"] is False
    assert codes_and_paths(report["errors"]) == [("wrong_type", "")]


def test_schemas__every_property__has_a_description():
    checked = []

    def walk(node, path):
        if isinstance(node, dict):
            for name, child in node.get("properties", {}).items():
                assert "description" in child, f"{path}/properties/{name}"
                checked.append(name)
            for key, child in node.items():
                walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{path}/{index}")

    for name in ("domain", "tenant"):
        schema = load_schema(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        walk(schema, name)
    assert len(checked) > 20, "a schema without properties would pass the walk"


def test_schemas__files__are_package_data():
    names = sorted(path.name for path in Path(SCHEMA_DIR).glob("*.json"))
    assert names == ["domain_pack.schema.json", "tenant_pack.schema.json"]


@pytest.mark.parametrize(
    "name",
    [
        "domain_capital_markets.json",
        "domain_capital_markets_acme.json",
        "domain_healthcare_legacy.json",
        "tenant_finance_001.json",
        "tenant_healthcare_042_legacy.json",
    ],
)
def test_schema_findings__fast_engine__same_verdict_as_pure_python(name):
    content = load_reference(name)
    pack_type = "tenant" if "tenantId" in content else "domain"
    python = jsonschema.Draft202012Validator(load_schema(pack_type))
    assert (schema_findings(content, pack_type) == []) == python.is_valid(content)


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e20, max_value=1e20)
    | st.text(max_size=10)
)
json_values = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
pack_keys = st.sampled_from(
    [
        "domainName", "tenantId", "exceptionTypes", "severityRules", "tools", "playbooks",
        "guardrails", "testSuites", "approvedTools", "customPlaybooks", "customGuardrails",
        "customSeverityOverrides", "steps", "condition", "severity", "exceptionType", "tool",
        "input", "expectedOutput", "rawPayload", "action", "password",
    ]
) | st.text(max_size=6)  # fmt: skip
pack_like = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(pack_keys, children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, st.dictionaries(pack_keys, pack_like, max_size=8)))
# Found by this test: playbooks of the wrong type beside test suites raised TypeError (a 500).
@example({"playbooks": 1.0, "testSuites": []})
def test_validate__random_json__report_or_intake_error(value):
    data = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        content = load_json_object(data)
    except IntakeError:
        return
    domain = validate_domain_pack(content)
    tenant = validate_tenant_pack(content, domain_pack_content=content)
    for report in (domain, tenant):
        assert set(report) == {
            "valid", "pack_type", "checksum", "errors", "warnings", "summary", "checked_against"
        }  # fmt: skip
        assert report["valid"] is (not report["errors"])
        json.dumps(report)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_canonical_fast_path__any_value__same_bytes_as_canonical_json(value):
    assert _canonical_or_none(value) == canonical_json(value)


def test_reference_files__present():
    assert (REFERENCE / "domain_capital_markets.json").exists()


@pytest.mark.parametrize("name", [":", " Leading", "a/b", "x" * 201, "ünïcode"])
def test_validate_domain_pack__domain_name_import_refuses__invalid_value(finance_domain, name):
    # Validation must say what import will: a name the import's domain rule refuses is invalid
    # here too (found by the content fuzz: ':' validated, then import answered invalid_domain).
    finance_domain["domainName"] = name

    report = validate_domain_pack(finance_domain)

    assert report["valid"] is False
    assert "/domainName" in {error["path"] for error in report["errors"]}


def test_validate_domain_pack__dotted_domain_name__valid(finance_domain):
    finance_domain["domainName"] = "Capital.Markets_Trading-2"

    assert validate_domain_pack(finance_domain)["valid"] is True
