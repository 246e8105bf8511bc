"""The evaluator over the reference finance packs active for TENANT_FINANCE_001."""

import pytest

from onboarding.errors import InvalidInput
from runtime_config.evaluator import evaluate
from runtime_config.runtime import invalidate
from tests.runtime_config.runtime_support import (
    FINANCE,
    activate_direct,
    make_finance_tenant,
    store_domain,
    store_tenant,
)


@pytest.fixture(autouse=True)
def fresh_cache():
    invalidate()
    yield
    invalidate()


@pytest.fixture
def finance_active(db, finance_domain, finance_tenant):
    make_finance_tenant()
    domain_pack = store_domain(finance_domain)
    tenant_pack = store_tenant(finance_tenant)
    activate_direct(FINANCE, domain_pack, tenant_pack)
    return domain_pack, tenant_pack


def run(exception_type: str, payload: dict | None = None) -> dict:
    return evaluate(tenant_id=FINANCE, exception_type=exception_type, payload=payload or {})


def test_evaluate__settlement_fail__high_from_domain_rule_with_its_playbook(finance_active):
    decision = run("SETTLEMENT_FAIL", {"orderId": "ORD-9"})
    assert decision["severity"] == "HIGH"
    why = decision["explanation"]["severity"]
    assert why["decided_by"] == "domain_rule"
    assert why["rule"] == {
        "index": 2,
        "pointer": "/severityRules/2",
        "condition": "exceptionType == 'SETTLEMENT_FAIL'",
        "severity": "HIGH",
    }
    assert why["override"] is None
    assert decision["playbook"]["exceptionType"] == "SETTLEMENT_FAIL"
    assert decision["playbook"]["source"] == "domain"
    assert len(decision["playbook"]["steps"]) == 4
    assert decision["requires_approval"] is False
    assert decision["explanation"]["approval"]["rule"]["severity"] == "HIGH"
    assert set(decision["tools"]) == {"getSettlement", "triggerSettlementRetry", "openCase"}
    assert decision["blocked_tools"] == []


def test_evaluate__position_break__critical_and_approval_required(finance_active):
    decision = run("POSITION_BREAK", {"accountId": "A1"})
    assert decision["severity"] == "CRITICAL"
    assert decision["requires_approval"] is True
    approval = decision["explanation"]["approval"]["rule"]
    assert approval["severity"] == "CRITICAL"
    assert approval["requireApproval"] is True
    assert approval["pointer"] == "/humanApprovalRules/0"
    assert decision["playbook"]["exceptionType"] == "POSITION_BREAK"


def test_evaluate__reg_report_rejected__high_from_tenant_override(finance_active):
    decision = run("REG_REPORT_REJECTED")
    assert decision["severity"] == "HIGH"
    why = decision["explanation"]["severity"]
    assert why["decided_by"] == "tenant_override"
    assert why["rule"] is None
    assert why["override"]["pointer"] == "/customSeverityOverrides/0"
    assert "tenant override #0" in decision["explanation"]["summary"]


def test_evaluate__sec_master_economic__domain_medium_overridden_by_tenant_low(finance_active):
    decision = run("SEC_MASTER_MISMATCH", {"impact": "ECONOMIC"})
    assert decision["severity"] == "LOW"
    why = decision["explanation"]["severity"]
    assert why["decided_by"] == "tenant_override"
    assert why["rule"]["index"] == 3
    assert why["rule"]["severity"] == "MEDIUM"
    assert why["override"]["severity"] == "LOW"
    assert decision["playbook"] is None
    assert decision["tools"] == []


def test_evaluate__sec_master_without_impact__no_rule_matches_without_error(finance_active):
    decision = run("SEC_MASTER_MISMATCH", {"cusip": "123"})
    why = decision["explanation"]["severity"]
    assert why["rule"] is None
    assert decision["severity"] == "LOW"


def test_evaluate__payload_not_an_object__rules_needing_fields_do_not_match(finance_active):
    decision = evaluate(tenant_id=FINANCE, exception_type="SEC_MASTER_MISMATCH", payload=[1])
    assert decision["explanation"]["severity"]["rule"] is None


def test_evaluate__no_rule_no_override__default_medium(finance_active):
    decision = run("FAILED_ALLOCATION")
    assert decision["severity"] == "MEDIUM"
    assert decision["explanation"]["severity"]["decided_by"] == "default"
    assert decision["explanation"]["severity"]["default"] == "MEDIUM"


def test_evaluate__explanation__names_pack_versions_and_checksums(finance_active):
    domain_pack, tenant_pack = finance_active
    packs = run("SETTLEMENT_FAIL")["explanation"]["packs"]
    assert packs["domain_pack"] == {
        "domain": "CapitalMarketsTrading",
        "version": "v3.2",
        "checksum": domain_pack.checksum,
    }
    assert packs["tenant_pack"] == {"version": "v1.4", "checksum": tenant_pack.checksum}
    assert packs["revision"] == 1
    assert packs["source"] == "database"


def test_evaluate__unknown_exception_type__invalid_input(finance_active):
    with pytest.raises(InvalidInput) as caught:
        run("NOT_A_TYPE")
    assert caught.value.code == "unknown_exception_type"
    assert caught.value.errors[0]["path"] == "/exception_type"


def test_evaluate__tool_not_approved__listed_as_blocked(db, finance_domain, finance_tenant):
    make_finance_tenant()
    finance_tenant["approvedTools"].remove("triggerSettlementRetry")
    finance_tenant["customGuardrails"]["blockLists"] = ["openCase"]
    activate_direct(FINANCE, store_domain(finance_domain), store_tenant(finance_tenant))
    blocked = run("SETTLEMENT_FAIL")["blocked_tools"]
    assert blocked == [
        {"tool": "triggerSettlementRetry", "path": "/steps/2", "reason": "not_approved"},
        {"tool": "openCase", "path": "/steps/3", "reason": "block_list"},
    ]


def test_evaluate__tenant_custom_playbook__wins_over_domain(db, finance_domain, finance_tenant):
    make_finance_tenant()
    finance_tenant["customPlaybooks"] = [
        {
            "exceptionType": "SETTLEMENT_FAIL",
            "playbookId": "PB_SETTLE_CUSTOM",
            "steps": [{"action": "Run getSettlement(orderId)", "parameters": {}}],
        }
    ]
    activate_direct(FINANCE, store_domain(finance_domain), store_tenant(finance_tenant))
    decision = run("SETTLEMENT_FAIL")
    assert decision["playbook"]["playbook_id"] == "PB_SETTLE_CUSTOM"
    assert decision["playbook"]["source"] == "tenant"
    assert decision["explanation"]["playbook"]["pointer"] == "/customPlaybooks/0"
    assert decision["tools"] == ["getSettlement"]


def test_evaluate__confidence_below_guardrail_threshold__approval_required(finance_active):
    assert run("SETTLEMENT_FAIL", {"confidence": 0.9})["requires_approval"] is False
    decision = run("SETTLEMENT_FAIL", {"confidence": 0.5})
    assert decision["requires_approval"] is True
    assert decision["explanation"]["approval"]["guardrail"] == {
        "humanApprovalThreshold": 0.75,
        "confidence": 0.5,
        "triggered": True,
    }


def test_evaluate__answer_mutated__cached_config_unchanged(finance_active, settings):
    settings.RUNTIME_CONFIG_TTL = 30
    first = run("SETTLEMENT_FAIL")
    first["playbook"]["steps"].clear()
    first["tools"].append("x")
    second = run("SETTLEMENT_FAIL")
    assert len(second["playbook"]["steps"]) == 4
    assert "x" not in second["tools"]
