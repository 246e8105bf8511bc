"""Canary inside a tenant (issue 22, DESIGN §16): what a canary adds to each evaluation.

- Assignment: choosing a tenant's arm for one exception (`Canary.arm`: sha256 of
  "<rollout>:<exception id>", 8 bytes, modulo 10,000) over BENCH_CANARY_IDS distinct ids
  (default 200,000). Target <= 1 us per exception; the baseline shown is one evaluation alone.
- Shadow: the evaluator (`runtime_config.evaluator.evaluate`, the service the evaluate endpoint
  calls, from the process cache) for a tenant in canary with shadow — the serving arm, the other
  arm, the comparison and the in-memory count (flushed every CANARY_SHADOW_FLUSH_SECONDS inside
  the timing) — against the same evaluation for a tenant on the same configuration without a
  canary, BENCH_CANARY_EVALS times each (default 20,000), in the same run. Target <= 2.5x.

Inside `make bench` Django is already set up on the bench database; alone,
`python -m bench.bench_canary` recreates `bench_canary` and sets it up (PostgreSQL)."""

import os
import sys
import time
import uuid

from django.db import transaction

IDS = int(os.environ.get("BENCH_CANARY_IDS", "200000"))
EVALS = int(os.environ.get("BENCH_CANARY_EVALS", "20000"))
DOMAIN = "CanaryBench"
ASSIGN_TARGET_US = 1.0
SHADOW_TARGET = 2.5
PAYLOAD = {"orderId": "ORD-1", "confidence": 0.9}


def _setup() -> tuple[str, str]:
    """Two tenants on DOMAIN v1; the first in a 50 % canary with shadow of v2 (a first rule that
    makes every exception CRITICAL, so half the shadowed evaluations diverge either way)."""
    from bench.common import reference_pack
    from packs.services import domain_pack_create
    from runtime_config.services import Target, apply_targets
    from runtime_config.services.canary import canaries_set
    from tenants.models import Tenant
    from tenants.principals import Principal

    system = Principal.system("bench")
    content = reference_pack("domain_capital_markets.json")
    content["domainName"] = DOMAIN
    stamp = str(int(time.time()) % 1_000_000_000)
    first = domain_pack_create(
        principal=system, domain=DOMAIN, version=f"{stamp}.1", content=content
    )
    candidate = {**content}
    candidate["severityRules"] = [
        {"condition": "exceptionType != ''", "severity": "CRITICAL"},
        *content["severityRules"],
    ]
    second = domain_pack_create(
        principal=system, domain=DOMAIN, version=f"{stamp}.2", content=candidate
    )
    canary_tenant, plain_tenant = f"CB{stamp}-CANARY", f"CB{stamp}-PLAIN"
    Tenant.objects.bulk_create(
        [
            Tenant(tenant_id=tid, name=tid, created_by="bench")
            for tid in (canary_tenant, plain_tenant)
        ]
    )
    with transaction.atomic():
        apply_targets(
            principal=system,
            targets={tid: Target(DOMAIN, first, None) for tid in (canary_tenant, plain_tenant)},
            comment="bench set-up",
            kind="activate",
        )
        canaries_set(
            rollout_id=uuid.uuid4(),
            domain_pack=second,
            percent=50,
            shadow=True,
            tenant_ids=[canary_tenant],
        )
    return canary_tenant, plain_tenant


def _evaluations(tenant_id: str, ids: list[str]) -> float:
    from runtime_config.evaluator import evaluate

    started = time.perf_counter()
    for exception_id in ids:
        evaluate(
            tenant_id=tenant_id,
            exception_type="SETTLEMENT_FAIL",
            payload=PAYLOAD,
            exception_id=exception_id,
        )
    return time.perf_counter() - started


def run() -> list[dict]:
    from runtime_config.canary import Canary, shadow_flush
    from runtime_config.runtime import get_effective_config, invalidate
    from runtime_config.selectors import shadow_counts

    invalidate()
    canary_tenant, plain_tenant = _setup()
    canary = get_effective_config(canary_tenant).canary
    assert canary is not None and canary.shadow

    ids = [f"EXC-{index:09d}" for index in range(IDS)]
    arm = Canary(rollout_id=canary.rollout_id, percent=10, shadow=False, candidate=None).arm
    started = time.perf_counter()
    for exception_id in ids:
        arm(exception_id)
    assign_us = 1e6 * (time.perf_counter() - started) / IDS

    eval_ids = ids[:EVALS]
    _evaluations(plain_tenant, eval_ids[:500])  # warm both caches
    _evaluations(canary_tenant, eval_ids[:500])
    alone_s = _evaluations(plain_tenant, eval_ids)
    shadow_s = _evaluations(canary_tenant, eval_ids)
    shadow_flush()
    counts = shadow_counts(rollout_id=canary.rollout_id)
    alone_us, shadow_us = 1e6 * alone_s / EVALS, 1e6 * shadow_s / EVALS
    ratio = shadow_us / alone_us
    served = counts.get("*served:candidate", 0)
    return [
        {
            "name": f"canary assignment per exception ({IDS:,} ids)",
            "value": round(assign_us, 3),
            "unit": "us/exception",
            "baseline": round(alone_us, 1),
            "baseline_name": "one evaluation alone (same run)",
            "target": f"<= {ASSIGN_TARGET_US:g} us",
            "pass": assign_us <= ASSIGN_TARGET_US,
        },
        {
            "name": f"evaluate with shadow ({EVALS:,} evaluations, 50 % canary)",
            "value": round(shadow_us, 1),
            "unit": "us/evaluation",
            "baseline": round(alone_us, 1),
            "baseline_name": "evaluate alone, same configuration, no canary (same run)",
            "ratio": round(ratio, 2),
            "target": f"<= {SHADOW_TARGET:g}x evaluate alone",
            "pass": ratio <= SHADOW_TARGET,
            "note": f"{counts.get('*evaluated', 0)} shadowed (incl. warm-up), "
            f"{counts.get('*divergent', 0)} divergent, candidate served {served}",
        },
    ]


def main() -> int:
    from bench.common import recreate_database, setup_django

    url = recreate_database(os.environ.get("BENCH_DB", "bench_canary"))
    setup_django(url, "bench.settings")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for row in run():
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
