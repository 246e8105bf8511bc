"""The loader: merge, frozen result, database as the source, integrity, suspension."""

import copy
import logging

import pytest

from onboarding.errors import Conflict, NotFound
from packs.models import DomainPack
from runtime_config import health
from runtime_config.effective import EffectiveConfig, merge_effective_config
from runtime_config.runtime import ConfigIntegrityError, get_effective_config, invalidate
from tenants.services import tenant_set_status
from tests.runtime_config.runtime_support import (
    FINANCE,
    SETUP,
    activate_direct,
    make_finance_tenant,
    store_domain,
    store_tenant,
    tamper_domain_pack,
)


@pytest.fixture(autouse=True)
def fresh_cache():
    invalidate()
    yield
    invalidate()
    health.reset()


@pytest.fixture
def finance_active(db, finance_domain, finance_tenant):
    make_finance_tenant()
    domain_pack = store_domain(finance_domain)
    tenant_pack = store_tenant(finance_tenant)
    activate_direct(FINANCE, domain_pack, tenant_pack)
    return domain_pack, tenant_pack


# --- merge_effective_config ------------------------------------------------------------------


def test_merge__reference_packs__tenant_parts_applied(finance_domain, finance_tenant):
    merged = merge_effective_config(finance_domain, finance_tenant)
    assert merged["severityOverrides"] == {
        "REG_REPORT_REJECTED": "HIGH",
        "SEC_MASTER_MISMATCH": "LOW",
    }
    assert merged["approvedTools"] == finance_tenant["approvedTools"]
    assert merged["humanApprovalRules"] == finance_tenant["humanApprovalRules"]
    assert merged["guardrails"]["humanApprovalThreshold"] == 0.75
    assert merged["severityRules"] == finance_domain["severityRules"]
    assert merged["tools"] == finance_domain["tools"]
    assert merged["retentionPolicies"] == {"dataTTL": 90}
    assert merged["tenantId"] == "TENANT_FINANCE_001"
    assert merged["playbooks"] == finance_domain["playbooks"]


def test_merge__custom_playbooks__tenant_first(finance_domain, finance_tenant):
    custom = {"exceptionType": "SETTLEMENT_FAIL", "steps": []}
    finance_tenant["customPlaybooks"] = [custom]
    merged = merge_effective_config(finance_domain, finance_tenant)
    assert merged["playbooks"][0] == custom
    assert merged["playbooks"][1:] == finance_domain["playbooks"]


def test_merge__inputs__not_modified(finance_domain, finance_tenant):
    domain_before, tenant_before = copy.deepcopy(finance_domain), copy.deepcopy(finance_tenant)
    merged = merge_effective_config(finance_domain, finance_tenant)
    merged["tools"].clear()
    merged["guardrails"]["blockLists"].append("x")
    assert finance_domain == domain_before
    assert finance_tenant == tenant_before


def test_merge__guardrail_lists__block_union_and_allow_narrowed():
    domain = {"guardrails": {"allowLists": ["a", "b"], "blockLists": ["x"], "other": 1}}
    tenant = {"customGuardrails": {"allowLists": ["b", "c"], "blockLists": ["y"], "other": 2}}
    guardrails = merge_effective_config(domain, tenant)["guardrails"]
    assert guardrails == {"allowLists": ["b"], "blockLists": ["x", "y"], "other": 2}


def test_merge__no_tenant_pack__every_domain_tool_approved(finance_domain):
    merged = merge_effective_config(finance_domain, None)
    assert merged["approvedTools"] == sorted(finance_domain["tools"])
    assert merged["severityOverrides"] == {}
    assert merged["humanApprovalRules"] == []
    assert "tenantId" not in merged


def test_merge__malformed_content__no_exception():
    merged = merge_effective_config({"playbooks": "x", "guardrails": 3}, {"approvedTools": 7})
    assert merged["playbooks"] == []
    assert merged["approvedTools"] == []


# --- get_effective_config --------------------------------------------------------------------


def test_get__active_config__versions_checksums_revision(finance_active):
    domain_pack, tenant_pack = finance_active
    config = get_effective_config(FINANCE)
    assert isinstance(config, EffectiveConfig)
    assert (config.tenant_id, config.domain) == (FINANCE, "CapitalMarketsTrading")
    assert (config.domain_pack_version, config.tenant_pack_version) == ("v3.2", "v1.4")
    assert config.domain_pack_checksum == domain_pack.checksum
    assert config.tenant_pack_checksum == tenant_pack.checksum
    assert config.revision == 1
    assert config.source == "database"
    assert [rule.severity for rule in config.severity_rules] == [
        "CRITICAL",
        "HIGH",
        "HIGH",
        "MEDIUM",
    ]
    assert all(rule.compiled is not None for rule in config.severity_rules)


def test_get__result__deeply_frozen(finance_active):
    config = get_effective_config(FINANCE)
    with pytest.raises(AttributeError):
        config.revision = 2
    with pytest.raises(TypeError):
        config.config["approvedTools"] = []
    with pytest.raises(TypeError):
        config.config["guardrails"]["blockLists"] = ["x"]
    assert isinstance(config.config["playbooks"], tuple)
    assert isinstance(config.config["playbooks"][0]["steps"], tuple)


def test_get__cached__same_object_and_no_query(finance_active, settings, django_assert_num_queries):
    settings.RUNTIME_CONFIG_TTL = 30
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 30
    first = get_effective_config(FINANCE)
    with django_assert_num_queries(0):
        assert get_effective_config(FINANCE) is first


def test_get__activation_committed__next_call_in_process_sees_it(
    finance_active, finance_domain, settings, django_capture_on_commit_callbacks
):
    settings.RUNTIME_CONFIG_TTL = 30
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 30
    assert get_effective_config(FINANCE).domain_pack_version == "v3.2"
    newer = store_domain(finance_domain, version="v3.3")
    with django_capture_on_commit_callbacks(execute=True):
        activate_direct(FINANCE, newer, finance_active[1])
    config = get_effective_config(FINANCE)
    assert (config.domain_pack_version, config.revision) == ("v3.3", 2)


def test_get__no_tenant_pack__domain_only(db, finance_domain):
    make_finance_tenant()
    activate_direct(FINANCE, store_domain(finance_domain), None)
    config = get_effective_config(FINANCE)
    assert config.tenant_pack_version is None
    assert config.tenant_pack_checksum is None


def test_get__no_active_config__not_found(db):
    make_finance_tenant()
    with pytest.raises(NotFound) as caught:
        get_effective_config(FINANCE)
    assert caught.value.code == "no_active_config"


def test_get__unknown_tenant__not_found(db):
    with pytest.raises(NotFound) as caught:
        get_effective_config("NO_SUCH_TENANT")
    assert caught.value.code == "tenant_not_found"


def test_get__suspended_tenant__refused(finance_active, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    with pytest.raises(Conflict) as caught:
        get_effective_config(FINANCE)
    assert caught.value.code == "tenant_suspended"


def test_get__refusal_cached__raised_again_as_fresh_error(db, settings):
    settings.RUNTIME_CONFIG_TTL = 30
    make_finance_tenant()
    errors = []
    for _ in range(2):
        with pytest.raises(NotFound) as caught:
            get_effective_config(FINANCE)
        errors.append(caught.value)
    assert errors[0] is not errors[1]
    assert errors[1].code == "no_active_config"


def test_get__tampered_content__refused_logged_counted(finance_active, caplog):
    domain_pack, _ = finance_active
    tamper_domain_pack(domain_pack)
    assert (
        DomainPack.objects.get(pk=domain_pack.pk).content_json["severityRules"][0]["severity"]
        == "LOW"
    )
    before = health.integrity_failures()
    with (
        caplog.at_level(logging.ERROR, logger="runtime_config.runtime"),
        pytest.raises(ConfigIntegrityError) as caught,
    ):
        get_effective_config(FINANCE)
    assert caught.value.code == "config_integrity_failure"
    assert caught.value.status == 503
    assert health.integrity_failures() == before + 1
    assert any("integrity" in record.getMessage() for record in caplog.records)
    assert health.runtime_health()["runtime"] == "degraded"


def test_get__tampered_then_reactivated_good_pack__served_and_healthy(
    finance_active, finance_domain
):
    domain_pack, tenant_pack = finance_active
    tamper_domain_pack(domain_pack)
    with pytest.raises(ConfigIntegrityError):
        get_effective_config(FINANCE)
    activate_direct(FINANCE, store_domain(finance_domain, version="v3.3"), tenant_pack)
    invalidate()
    assert get_effective_config(FINANCE).domain_pack_version == "v3.3"
    assert health.runtime_health()["refused_tenants"] == 0
