"""Fleet rollout benchmark (issue 22): one wave of BENCH_ROLLOUT_TENANTS tenants (default 1,000)
moved to a new domain pack version by the rollout's wave step — one transaction through
runtime_config's batch apply (`apply_targets`), each tenant still with its own revision, history
row, audit row and webhook event — against the same number of tenants moved one activation at a
time through the activation service (`config_activate`, one transaction each), in the same run.
Figures: milliseconds per tenant, the ratio of the two, and the wave's wall time (target ≤ 2 s for
1,000 tenants, and at least 5x faster than one activation per tenant).

Inside `make bench` Django is already set up on the bench database; alone,
`python -m bench.bench_rollouts` recreates `bench_rollouts` and sets it up (PostgreSQL)."""

import os
import sys
import time

from django.db import transaction

TENANTS = int(os.environ.get("BENCH_ROLLOUT_TENANTS", "1000"))
DOMAIN = "RolloutBench"
WAVE_TARGET_S = 2.0
RATIO_TARGET = 5.0


def _setup(count: int) -> tuple[list[str], list[str], str]:
    """2 x `count` tenants on DOMAIN v1 (no tenant pack); v2 imported. Returns the two halves."""
    from bench.common import reference_pack
    from packs.services import domain_pack_create
    from runtime_config.services import Target, apply_targets
    from tenants.models import Tenant
    from tenants.principals import Principal

    system = Principal.system("bench")
    content = reference_pack("domain_capital_markets.json")
    content["domainName"] = DOMAIN
    stamp = str(int(time.time()) % 1_000_000_000)
    first = domain_pack_create(
        principal=system, domain=DOMAIN, version=f"{stamp}.1", content=content
    )
    domain_pack_create(principal=system, domain=DOMAIN, version=f"{stamp}.2", content=content)
    ids = [f"RB{stamp}-{index:05d}" for index in range(2 * count)]
    Tenant.objects.bulk_create(
        [Tenant(tenant_id=tenant_id, name=tenant_id, created_by="bench") for tenant_id in ids],
        batch_size=1000,
    )
    with transaction.atomic():
        apply_targets(
            principal=system,
            targets={tenant_id: Target(DOMAIN, first, None) for tenant_id in ids},
            comment="bench set-up",
            kind="activate",
        )
    return ids[:count], ids[count:], f"{stamp}.2"


def run() -> list[dict]:
    from governance.services import config_activate
    from rollouts.services import rollout_create, rollout_step
    from runtime_config.models import ActivationHistory
    from tenants.principals import Principal

    system = Principal.system("bench")
    baseline_ids, wave_ids, version = _setup(TENANTS)

    started = time.perf_counter()
    for tenant_id in baseline_ids:
        config_activate(
            principal=system, tenant_id=tenant_id, domain=DOMAIN, domain_pack_version=version
        )
    baseline_s = time.perf_counter() - started

    rollout = rollout_create(
        principal=system,
        domain=DOMAIN,
        domain_pack_version=version,
        tenants=wave_ids,
        waves=[{"tenants": wave_ids}],
        bake_seconds=0,
    ).rollout
    started = time.perf_counter()
    outcome = rollout_step(rollout_id=str(rollout.pk))
    wave_s = time.perf_counter() - started
    moved = ActivationHistory.objects.filter(kind="rollout", tenant_id__in=wave_ids).count()

    per_tenant = 1000 * wave_s / TENANTS
    baseline_per_tenant = 1000 * baseline_s / TENANTS
    ratio = baseline_per_tenant / per_tenant
    target_wave = WAVE_TARGET_S * TENANTS / 1000
    return [
        {
            "group": "rollouts",
            "name": f"rollout wave of {TENANTS:,} tenants (one transaction, batch apply)",
            "value": round(per_tenant, 2),
            "unit": "ms/tenant",
            "baseline": round(baseline_per_tenant, 2),
            "baseline_name": "one config_activate per tenant (service, same run)",
            "ratio": round(ratio, 1),
            "target": f">= {RATIO_TARGET:g}x faster",
            "pass": ratio >= RATIO_TARGET and outcome == "completed" and moved == TENANTS,
            "note": f"step outcome {outcome}; {moved} tenants moved, each its own revision, "
            "history, audit row and webhook event",
        },
        {
            "group": "rollouts",
            "name": f"rollout wave of {TENANTS:,} tenants, wall time",
            "value": round(wave_s, 3),
            "unit": "s",
            "target": f"<= {target_wave:g} s ({WAVE_TARGET_S:g} s per 1,000)",
            "pass": wave_s <= target_wave,
        },
    ]


def main() -> int:
    from bench.common import recreate_database, setup_django

    url = recreate_database(os.environ.get("BENCH_DB", "bench_rollouts"))
    setup_django(url, "bench.settings")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for row in run():
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
