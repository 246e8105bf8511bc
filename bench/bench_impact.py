"""Decision impact benchmark (issue 15): 10,000 sample exceptions evaluated under two
configurations (the reference finance packs, then the same with one domain rule and one tenant
override changed) by `impact.engine.evaluate_impact`, building both configurations included,
against evaluating the same samples once with the runtime's evaluator (`evaluate_with`, one
configuration, already built). Target: <= 1 s. A second figure adds a payload rule per exception
type whose threshold differs between the two, so that every sample runs a condition on each side
and no result is shared; a third runs the generated pack of the validation benchmark (2,000
exception types, 4,000 rules).

Needs no database: the configurations are built in memory, as the engine builds them. Inside
`make bench` Django is already set up; alone, `python -m bench.bench_impact` sets it up."""

import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "reference"
SAMPLES = 10_000
TARGET_S = 1.0
ROUNDS = 5


def _reference(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


def _configs(*, payload_rules: bool = False):
    """The reference pair and a proposed one: one domain rule and one tenant override changed.
    `payload_rules`: first, for every exception type, a rule on the payload's amount whose
    threshold differs between the two, so that no condition result can be shared."""
    from runtime_config.effective import PackSource, build_effective_config

    domain = _reference("domain_capital_markets.json")
    tenant = _reference("tenant_finance_001.json")
    proposed_domain, proposed_tenant = copy.deepcopy(domain), copy.deepcopy(tenant)
    proposed_domain["severityRules"][1]["severity"] = "CRITICAL"
    proposed_tenant["customSeverityOverrides"][1]["severity"] = "MEDIUM"
    if payload_rules:
        for content, threshold in ((domain, 50_000), (proposed_domain, 70_000)):
            content["severityRules"][:0] = [
                {
                    "condition": f"exceptionType == '{kind}' && rawPayload.amount > {threshold}",
                    "severity": "HIGH",
                }
                for kind in sorted(content["exceptionTypes"])
            ]

    def build(domain_content, tenant_content, version):
        return build_effective_config(
            tenant_id=tenant["tenantId"],
            domain=domain["domainName"],
            domain_pack=PackSource(domain_content, version, "d" * 64),
            tenant_pack=PackSource(tenant_content, version, "t" * 64),
            revision=0,
            source="impact",
        )

    return build(domain, tenant, "v1"), build(proposed_domain, proposed_tenant, "v2")


def _samples(config):
    from impact.engine import Sample

    types = sorted(config.plans)
    return [
        Sample(
            f"bench #{index}",
            types[index % len(types)],
            {
                "orderId": f"ORD-{index}",
                "impact": "ECONOMIC" if index % 3 else "NONE",
                "amount": index * 10,
                "confidence": (index % 10) / 10,
            },
        )
        for index in range(SAMPLES)
    ]


def _timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def run() -> list[dict]:
    return [
        _figure("reference packs, one rule and one override changed"),
        _figure("plus a payload rule per type, thresholds differing: nothing shared", True),
        _figure_generated(),
    ]


def _generated_configs():
    """validation's generated pack (2,000 exception types, 4,000 rules) and the same with every
    payload threshold raised."""
    from bench.bench_validation import generated_pack
    from runtime_config.effective import PackSource, build_effective_config

    before = generated_pack()
    after = copy.deepcopy(before)
    for rule in after["severityRules"]:
        rule["condition"] = rule["condition"].replace(
            "rawPayload.amount > ", "rawPayload.amount > 1"
        )

    def build(content, version):
        return build_effective_config(
            tenant_id="BENCH",
            domain=content["domainName"],
            domain_pack=PackSource(content, version, "d" * 64),
            tenant_pack=None,
            revision=0,
            source="impact",
        )

    return (lambda: build(before, "v1")), (lambda: build(after, "v2"))


def _figure_generated() -> dict:
    from impact.engine import Sample, evaluate_impact
    from runtime_config.evaluator import evaluate_with

    build_before, build_after = _generated_configs()
    config = build_before()
    types = sorted(config.plans)
    samples = [
        Sample(f"bench #{index}", types[index % len(types)], {"amount": index * 7})
        for index in range(SAMPLES)
    ]

    def once():
        for sample in samples:
            evaluate_with(config, exception_type=sample.exception_type, payload=sample.payload)

    def impact():
        return evaluate_impact(build_before(), build_after(), samples, time_budget_ms=60_000)

    result = impact()
    base = [_timed(once) for _ in range(max(1, ROUNDS // 2))]
    measured = [_timed(impact) for _ in range(ROUNDS)]
    median, baseline = statistics.median(measured), statistics.median(base)
    return {
        "name": f"decision impact, {SAMPLES:,} samples x 2 configurations (generated pack: "
        "2,000 exception types, 4,000 rules, every payload threshold changed)",
        "value": round(median, 3),
        "unit": "s",
        "median_s": round(median, 3),
        "baseline_name": f"the same {SAMPLES:,} samples evaluated once (evaluate_with)",
        "baseline": round(baseline, 3),
        "ratio": round(median / baseline, 2),
        "target": f"<= {TARGET_S:g} s",
        "pass": median <= TARGET_S and not result["partial"],
        "note": f"median of {ROUNDS}, building both configurations included; "
        f"{result['changed']:,} samples changed, {result['errors']} errors",
    }


def _figure(label: str, payload_rules: bool = False) -> dict:
    from impact.engine import evaluate_impact
    from runtime_config.evaluator import evaluate_with

    before, _ = _configs(payload_rules=payload_rules)
    samples = _samples(before)

    def once():
        for sample in samples:
            evaluate_with(before, exception_type=sample.exception_type, payload=sample.payload)

    def impact():
        # Building (and compiling) both configurations is part of every impact.
        old, new = _configs(payload_rules=payload_rules)
        return evaluate_impact(old, new, samples, time_budget_ms=60_000)

    result = impact()
    base = [_timed(once) for _ in range(ROUNDS)]
    measured = [_timed(impact) for _ in range(ROUNDS)]
    median, baseline = statistics.median(measured), statistics.median(base)
    return {
        "name": f"decision impact, {SAMPLES:,} samples x 2 configurations ({label})",
        "value": round(median, 3),
        "unit": "s",
        "median_s": round(median, 3),
        "baseline_name": f"the same {SAMPLES:,} samples evaluated once (evaluate_with)",
        "baseline": round(baseline, 3),
        "ratio": round(median / baseline, 2),
        "target": f"<= {TARGET_S:g} s",
        "pass": median <= TARGET_S and not result["partial"],
        "note": f"median of {ROUNDS}, building both configurations included; "
        f"{result['changed']:,} samples changed, {result['errors']} errors",
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    os.environ.setdefault("DEBUG", "true")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    print(json.dumps(run(), indent=2))
