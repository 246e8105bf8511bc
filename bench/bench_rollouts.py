"""Fleet rollout benchmark (issue 22): one wave of BENCH_ROLLOUT_TENANTS tenants (default 1,000)
moved to a new domain pack version by the rollout's wave step — one transaction through
runtime_config's batch apply (`apply_targets`), each tenant still with its own revision, history
row, audit row and webhook event — against the same number of tenants moved one activation at a
time through the activation service (`config_activate`, one transaction each), in the same run.
Figures: milliseconds per tenant, the ratio of the two, and the wave's wall time (target ≤ 2 s for
1,000 tenants, and at least 5x faster than one activation per tenant); then how long two other
serving processes take to answer each of BENCH_ROLLOUT_VISIBLE_ROUNDS waves (default 20) of
BENCH_ROLLOUT_VISIBLE_TENANTS tenants (default 1,000) after its commit (target p99 ≤ 100 ms);
and a whole plan of BENCH_ROLLOUT_PLAN_TENANTS tenants (default 10,000) in ten waves, bake time 0,
from its creation to its completion (target ≤ 20 s per 10,000, ≥ 5x one activation per tenant).

Inside `make bench` Django is already set up on the bench database; alone,
`python -m bench.bench_rollouts` recreates `bench_rollouts` and sets it up (PostgreSQL)."""

import os
import statistics
import sys
import time

from django.db import transaction

TENANTS = int(os.environ.get("BENCH_ROLLOUT_TENANTS", "1000"))
DOMAIN = "RolloutBench"
WAVE_TARGET_S = 2.0
RATIO_TARGET = 5.0
VISIBLE_TARGET_S = 0.1
PLAN_TARGET_S = 20.0
PLAN_TENANTS = int(os.environ.get("BENCH_ROLLOUT_PLAN_TENANTS", "10000"))
PLAN_WAVES = 10
VISIBLE_ROUNDS = int(os.environ.get("BENCH_ROLLOUT_VISIBLE_ROUNDS", "20"))
VISIBLE_SIZE = int(os.environ.get("BENCH_ROLLOUT_VISIBLE_TENANTS", "1000"))


def _setup(count: int, domain: str = DOMAIN) -> tuple[list[str], list[str], str]:
    """2 x `count` tenants on `domain` v1 (no tenant pack); v2 imported. Returns the two halves
    and v2's version."""
    from bench.common import reference_pack
    from packs.services import domain_pack_create
    from runtime_config.services import Target, apply_targets
    from tenants.models import Tenant
    from tenants.principals import Principal

    system = Principal.system("bench")
    content = reference_pack("domain_capital_markets.json")
    content["domainName"] = domain
    stamp = str(int(time.time()) % 1_000_000_000)
    first = domain_pack_create(
        principal=system, domain=domain, version=f"{stamp}.1", content=content
    )
    domain_pack_create(principal=system, domain=domain, version=f"{stamp}.2", content=content)
    prefix = "RB" if domain == DOMAIN else "RP"
    ids = [f"{prefix}{stamp}-{index:05d}" for index in range(2 * count)]
    Tenant.objects.bulk_create(
        [Tenant(tenant_id=tenant_id, name=tenant_id, created_by="bench") for tenant_id in ids],
        batch_size=1000,
    )
    with transaction.atomic():
        apply_targets(
            principal=system,
            targets={tenant_id: Target(domain, first, None) for tenant_id in ids},
            comment="bench set-up",
            kind="activate",
        )
    return ids[:count], ids[count:], f"{stamp}.2"


def bench_visibility(rounds: int, size: int) -> dict:
    """Seconds from the commit of a wave to the moment each of two other serving processes
    answers the new revision, for the wave's first and last tenant, over `rounds` waves of
    `size` tenants (each wave one rollout, to the next version)."""
    from bench.bench_runtime import _child_env, _pct
    from bench.common import reference_pack
    from packs.services import domain_pack_create
    from rollouts.services import rollout_create
    from runtime_config.services import Target, apply_targets
    from runtime_config.watch import Watcher
    from tenants.models import Tenant
    from tenants.principals import Principal

    system = Principal.system("bench")
    content = reference_pack("domain_capital_markets.json")
    content["domainName"] = content_domain = f"{DOMAIN}Visible"
    packs = [
        domain_pack_create(
            principal=system, domain=content_domain, version=f"1.{n}", content=content
        )
        for n in range(rounds + 1)
    ]
    ids = [f"RV-{index:05d}" for index in range(size)]
    Tenant.objects.bulk_create([Tenant(tenant_id=i, name=i, created_by="bench") for i in ids])
    with transaction.atomic():
        apply_targets(
            principal=system,
            targets={i: Target(content_domain, packs[0], None) for i in ids},
            comment="bench set-up",
            kind="activate",
        )
    lags: list[float] = []
    env = _child_env()
    with Watcher(ids[0], env) as first, Watcher(ids[-1], env) as last:
        for watcher in (first, last):
            if watcher.wait_for("1.0/None/1", 10)["seen"] != "1.0/None/1":
                raise RuntimeError("a serving process does not see the initial configuration")
        for number in range(1, rounds + 1):
            rollout = rollout_create(
                principal=system,
                domain=content_domain,
                domain_pack_version=f"1.{number}",
                tenants=ids,
                waves=[{"tenants": ids}],
                bake_seconds=0,
            ).rollout
            committed = _step_timed(str(rollout.pk))
            want = f"1.{number}/None/{number + 1}"
            for watcher in (first, last):
                answer = watcher.wait_for(want, 5)
                lags.append(answer["at"] - committed if answer["seen"] == want else 5.0)
    p50, p99, worst = statistics.median(lags), _pct(lags, 0.99), max(lags)
    return {
        "group": "rollouts",
        "name": f"a wave of {size:,} tenants seen by two other serving processes ({rounds} waves)",
        "value": round(p99 * 1000, 1),
        "unit": "ms (p99)",
        "target": f"p99 <= {VISIBLE_TARGET_S * 1000:g} ms",
        "pass": p99 <= VISIBLE_TARGET_S,
        "note": f"from the wave's commit to the first get_effective_config in each of two other "
        f"processes answering the new revision, for the wave's first and its last tenant; p50 "
        f"{p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms",
    }


def bench_plan(count: int, waves: int, baseline_per_tenant_ms: float) -> dict:
    """A whole plan: `count` tenants in `waves` waves, bake time 0, from `rollout_create` to the
    step that completes it, against `count` single activations at the per-tenant cost measured
    above in the same run."""
    from rollouts.services import rollout_create, rollout_step
    from runtime_config.models import ActivationHistory
    from tenants.principals import Principal

    first, second, version = _setup(count // 2, domain=f"{DOMAIN}Plan")
    ids = first + second
    size = -(-len(ids) // waves)
    started = time.perf_counter()
    rollout = rollout_create(
        principal=Principal.system("bench"),
        domain=f"{DOMAIN}Plan",
        domain_pack_version=version,
        tenants=ids,
        waves=[{"tenants": ids[n : n + size]} for n in range(0, len(ids), size)],
        bake_seconds=0,
    ).rollout
    outcome, steps = "", 0
    while outcome not in ("completed", "halted", "idle") and steps <= waves + 1:
        outcome = rollout_step(rollout_id=str(rollout.pk))
        steps += 1
    took = time.perf_counter() - started
    moved = ActivationHistory.objects.filter(kind="rollout", tenant_id__in=ids).count()
    baseline_s = baseline_per_tenant_ms * len(ids) / 1000
    target_s = PLAN_TARGET_S * len(ids) / 10_000
    return {
        "group": "rollouts",
        "name": f"rollout plan of {len(ids):,} tenants in {waves} waves, bake time 0",
        "value": round(took, 2),
        "unit": "s",
        "baseline": round(baseline_s, 1),
        "baseline_name": "one config_activate per tenant at the per-tenant cost measured above",
        "ratio": round(baseline_s / took, 1),
        "target": f"<= {target_s:g} s ({PLAN_TARGET_S:g} s per 10,000), >= {RATIO_TARGET:g}x",
        "pass": took <= target_s
        and baseline_s / took >= RATIO_TARGET
        and outcome == "completed"
        and moved == len(ids),
        "note": f"from rollout_create (the plan checked in full) to the completing step; "
        f"{steps} steps, outcome {outcome}, {moved} tenants moved",
    }


def _step_timed(rollout_id: str) -> float:
    """The wall-clock time right after the wave's commit (the step's transaction is a savepoint
    of this one, whose first on-commit callback runs before the push's)."""
    from rollouts.services import rollout_step

    committed: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.time()))
        rollout_step(rollout_id=rollout_id)
    return committed[0]


def run() -> list[dict]:
    from governance.services import config_activate
    from rollouts.services import rollout_create, rollout_step
    from runtime_config.models import ActivationHistory
    from tenants.principals import Principal
    from webhooks.services import webhook_create

    system = Principal.system("bench")
    baseline_ids, wave_ids, version = _setup(TENANTS)
    # As most deployments have one: a receiver of every activation, so that each moved tenant
    # also costs its webhook delivery (no worker runs here: the deliveries wait, unsent).
    webhook_create(
        principal=system,
        url="https://hooks.example.com/activations",
        events=["config.activated"],
        tenant_id=None,
        active=True,
    )

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
            "history, audit row, webhook event and delivery (one platform subscription to "
            "config.activated, for the baseline too)",
        },
        {
            "group": "rollouts",
            "name": f"rollout wave of {TENANTS:,} tenants, wall time",
            "value": round(wave_s, 3),
            "unit": "s",
            "target": f"<= {target_wave:g} s ({WAVE_TARGET_S:g} s per 1,000)",
            "pass": wave_s <= target_wave,
        },
        bench_plan(PLAN_TENANTS, PLAN_WAVES, baseline_per_tenant),
        bench_visibility(VISIBLE_ROUNDS, VISIBLE_SIZE),
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
