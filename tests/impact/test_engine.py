"""impact.engine: samples under two configurations, what changes, errors counted, bounded."""

import copy

import pytest

from impact.engine import Sample, compile_pair, decision_impact, evaluate_impact, pack_samples
from impact.models import TenantSampleSet
from packs.cel import Activation
from runtime_config.evaluator import decide, evaluate_with
from tests.runtime_config.activation_helpers import domain_pack, tenant_pack


@pytest.fixture
def pair(tenant_a, finance_domain, finance_tenant):
    return domain_pack(finance_domain), tenant_pack(finance_tenant)


@pytest.fixture
def changed_pair(pair, finance_domain, finance_tenant):
    domain = copy.deepcopy(finance_domain)
    domain["severityRules"][1]["severity"] = "CRITICAL"  # CASH_BREAK: HIGH -> CRITICAL
    return domain_pack(domain, version="v3.3"), pair[1]


def samples(config, count=None):
    payloads = [{}, {"impact": "ECONOMIC"}, {"confidence": 0.1}, {"confidence": 0.99}]
    found = [
        Sample(f"s{i}-{kind}", kind, payload)
        for kind in sorted(config.plans)
        for i, payload in enumerate(payloads)
    ]
    return found[:count] if count else found


def test_decide__reference_samples__same_decision_as_evaluate_with(pair):
    config = compile_pair("TENANT_A", pair)
    cases = samples(config)
    assert len(cases) >= 8, "no samples would pass this loop"
    for sample in cases:
        full = evaluate_with(config, exception_type=sample.exception_type, payload=sample.payload)
        activation = Activation(sample.exception_type, sample.payload)
        playbook = full["playbook"]["playbook_id"] if full["playbook"] else None
        assert decide(config, sample.exception_type, sample.payload, activation) == (
            full["severity"],
            playbook,
            full["requires_approval"],
        )


def test_evaluate_impact__one_rule_changed__lists_exactly_its_samples(pair, changed_pair):
    before, after = compile_pair("TENANT_A", pair), compile_pair("TENANT_A", changed_pair)

    result = evaluate_impact(before, after, samples(before))

    assert result["changed"] == 4 and result["errors"] == 0
    assert {change["exception_type"] for change in result["changes"]} == {"CASH_BREAK"}
    change = result["changes"][0]
    assert change["before"]["severity"] == "HIGH" and change["after"]["severity"] == "CRITICAL"
    assert change["after"]["approval"] is True  # the tenant requires approval for CRITICAL
    assert result["partial"] is False and result["truncated"] is False


def test_evaluate_impact__same_config__nothing_changes(pair):
    config = compile_pair("TENANT_A", pair)

    result = evaluate_impact(config, config, samples(config))

    assert result["changed"] == 0 and result["changes"] == []
    assert result["evaluated"] == result["samples"] == len(samples(config))


def test_evaluate_impact__unknown_type_and_costly_payload__counted_not_raised(pair):
    config = compile_pair("TENANT_A", pair)
    huge = {"items": [{"k": "v" * 50}] * 200_000}

    result = evaluate_impact(
        None, config, [Sample("a", "NOT_A_TYPE", {}), Sample("b", "CASH_BREAK", huge)]
    )

    assert result["errors"] == 2
    assert [change["after"] for change in result["changes"]] == [
        {"error": "unknown_exception_type"},
        {"error": "evaluation_too_costly"},
    ]
    assert result["changes"][0]["before"] is None  # nothing was served before


def test_evaluate_impact__more_changes_than_the_cap__truncated(pair, changed_pair):
    before, after = compile_pair("TENANT_A", pair), compile_pair("TENANT_A", changed_pair)
    many = [Sample(f"s{i}", "CASH_BREAK", {"i": i}) for i in range(30)]

    result = evaluate_impact(before, after, many, max_changes=10)

    assert result["changed"] == 30 and len(result["changes"]) == 10
    assert result["truncated"] is True


def test_evaluate_impact__time_budget_spent__partial_result(pair, changed_pair):
    before, after = compile_pair("TENANT_A", pair), compile_pair("TENANT_A", changed_pair)
    many = [Sample(f"s{i}", "CASH_BREAK", {"i": i}) for i in range(500)]

    result = evaluate_impact(before, after, many, time_budget_ms=0)

    assert result["partial"] is True
    assert 0 < result["evaluated"] < 500 and result["samples"] == 500


def test_pack_samples__malformed_cases__left_out():
    content = {
        "testSuites": [
            {"input": {"exceptionType": "A", "rawPayload": {"x": 1}}},
            {"input": "nope"},
            7,
            {"input": {"exceptionType": "B"}},
        ]
    }

    found = pack_samples("domain pack D v1", content)

    assert [(s.source, s.exception_type, s.payload) for s in found] == [
        ("domain pack D v1 /testSuites/0", "A", {"x": 1}),
        ("domain pack D v1 /testSuites/3", "B", {}),
    ]


def test_decision_impact__pack_suites_and_tenant_set__both_sampled(pair, changed_pair, tenant_a):
    TenantSampleSet.objects.create(
        tenant=tenant_a,
        samples=[{"exception_type": "CASH_BREAK", "payload": {}}],
        count=1,
        checksum="0" * 64,
        uploaded_by="setup",
        uploaded_at="2026-01-01T00:00:00Z",
    )

    result = decision_impact(tenant_id="TENANT_A", before=pair, after=changed_pair)

    assert result["sources"] == {"packs": 4, "tenant": 1}  # v3.3 and v3.2: 2 cases each
    sources = [change["source"] for change in result["changes"]]
    assert sources == ["tenant samples #1"]


def test_evaluate_impact__unguarded_rule_first__pack_order_kept(pair, finance_domain):
    domain = copy.deepcopy(finance_domain)
    domain["severityRules"].insert(0, {"condition": "rawPayload.amount > 100", "severity": "LOW"})
    before = compile_pair("TENANT_A", pair)
    after = compile_pair("TENANT_A", (domain_pack(domain, version="v3.4"), pair[1]))
    cases = [
        Sample(f"{kind}-{amount}", kind, {"amount": amount})
        for kind in ("CASH_BREAK", "POSITION_BREAK", "SETTLEMENT_FAIL")
        for amount in (5, 500)
    ]

    result = evaluate_impact(before, after, cases)

    for sample in cases:
        expected = evaluate_with(
            after, exception_type=sample.exception_type, payload=sample.payload
        )
        shown = next((c for c in result["changes"] if c["source"] == sample.source), None)
        got = shown["after"]["severity"] if shown else None
        if sample.payload["amount"] == 500:
            assert expected["severity"] == got == "LOW"
        else:
            assert shown is None  # the unguarded rule does not match: nothing changes


def test_decision_impact__same_inputs_twice__second_answer_from_the_cache(
    pair, changed_pair, monkeypatch
):
    import impact.engine as engine

    first = decision_impact(tenant_id="TENANT_A", before=pair, after=changed_pair)
    calls = []
    monkeypatch.setattr(engine, "evaluate_impact", lambda *args: calls.append(args))

    again = decision_impact(tenant_id="TENANT_A", before=pair, after=changed_pair)

    assert again == first and calls == []


def test_decision_impact__sample_set_replaced__not_answered_from_the_cache(
    pair, changed_pair, owner
):
    from impact.services import sample_set_replace

    before = decision_impact(tenant_id="TENANT_A", before=pair, after=changed_pair)
    sample_set_replace(
        principal=owner.principal,
        tenant_id="TENANT_A",
        data=b'{"exception_type": "CASH_BREAK", "payload": {}}\n',
    )

    after = decision_impact(tenant_id="TENANT_A", before=pair, after=changed_pair)

    assert before["sources"]["tenant"] == 0
    assert after["sources"]["tenant"] == 1 and after["changed"] == before["changed"] + 1
