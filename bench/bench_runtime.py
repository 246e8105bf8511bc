"""Runtime benchmark (issues 6 and 18): the cache hit of `get_effective_config` next to a plain
dict lookup plus `time.monotonic()`, `evaluate` in process for the reference finance packs, the
propagation of an activation to another process (100 activations through the activation service,
a second Django process polling `get_effective_config`) by PostgreSQL NOTIFY, by Redis pub/sub
and by the SQLite generation poll, and the revocation lag of a token in two serving processes.

Inside `make bench` Django is already set up on a fresh PostgreSQL database. Run alone with
`python -m bench.bench_runtime`: on DATABASE_URL when set (it must be migrated), else on a
throwaway SQLite file that is migrated first."""

import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "reference"
TARGET_HIT_US = 1.0
TARGET_EVALUATE_US = 100.0
TARGET_PROPAGATION_S = 1.0  # the generation poll (SQLite)
TARGET_PUSH_S = 0.1  # PostgreSQL NOTIFY or Redis pub/sub, p99
ACTIVATIONS = 100  # the p99 of 100 samples is not simply the worst one


def _pct(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _per_call_us(func, arg, *, calls: int = 2000, samples: int = 200) -> list[float]:
    """Per-call time of a sub-microsecond function: batches of `calls`, one sample per batch."""
    for _ in range(calls):
        func(arg)
    out = []
    for _ in range(samples):
        started = time.perf_counter_ns()
        for _ in range(calls):
            func(arg)
        out.append((time.perf_counter_ns() - started) / calls / 1000)
    return out


def _single_calls_us(func, *, samples: int = 3000) -> list[float]:
    for _ in range(100):
        func()
    out = []
    for _ in range(samples):
        started = time.perf_counter_ns()
        func()
        out.append((time.perf_counter_ns() - started) / 1000)
    return out


def _row(name, samples, unit, target, baseline_name=None, baseline=None, digits=3) -> dict:
    median = statistics.median(samples)
    key = "median_us" if unit == "µs" else "median_s"
    row = {
        "name": name,
        "value": round(median, digits),
        "unit": unit,
        key: round(median, digits),
        "p95": round(_pct(samples, 0.95), digits),
        "baseline_name": baseline_name,
        "baseline": None if baseline is None else round(baseline, digits),
        "ratio": round(median / baseline, 2) if baseline else None,
        "target": f"<= {target:g} {unit}",
        "pass": median <= target,
    }
    return row


# --- set-up --------------------------------------------------------------------------------------


def _reference(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


def _prepare() -> tuple[str, list[str]]:
    """A tenant of its own with the reference finance packs (domain renamed so reruns and other
    benchmarks' data never collide), two domain versions, the first one active."""
    from governance.services import config_activate
    from packs.services import domain_pack_create, tenant_pack_create
    from tenants.principals import Principal
    from tenants.services import tenant_create

    suffix = secrets.token_hex(3).upper()
    tenant_id, domain = f"BENCH_RT_{suffix}", f"BenchRuntime{suffix}"
    principal = Principal.system("bench")
    tenant_create(principal=principal, tenant_id=tenant_id, name="Runtime benchmark")
    domain_content = _reference("domain_capital_markets.json")
    domain_content["domainName"] = domain
    versions = ["v1.0", "v1.1"]
    for version in versions:
        domain_pack_create(
            principal=principal, domain=domain, version=version, content=domain_content
        )
    tenant_content = _reference("tenant_finance_001.json")
    tenant_content.update(tenantId=tenant_id, domainName=domain)
    tenant_pack_create(
        principal=principal, tenant_id=tenant_id, version="v1.0", content=tenant_content
    )
    config_activate(
        principal=principal,
        tenant_id=tenant_id,
        domain=domain,
        domain_pack_version=versions[0],
        tenant_pack_version="v1.0",
    )
    return tenant_id, versions


# --- figures -------------------------------------------------------------------------------------


def bench_cache_hit(tenant_id: str) -> dict:
    from runtime_config.runtime import get_effective_config

    get_effective_config(tenant_id)
    table = {tenant_id: (time.monotonic() + 3600, object())}
    monotonic = time.monotonic

    def plain(key):
        now = monotonic()
        entry = table.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        return None

    hits = _per_call_us(get_effective_config, tenant_id)
    base = _per_call_us(plain, tenant_id)
    return _row(
        "get_effective_config, cache hit",
        hits,
        "µs",
        TARGET_HIT_US,
        "plain dict lookup + time.monotonic() comparison",
        statistics.median(base),
    )


def bench_evaluate(tenant_id: str) -> list[dict]:
    from runtime_config.evaluator import evaluate

    rows = []
    for kind, payload, label in [
        ("SETTLEMENT_FAIL", {"orderId": "ORD-1"}, "domain rule #2, playbook, approval rule"),
        ("SEC_MASTER_MISMATCH", {"impact": "ECONOMIC"}, "all 4 rules run, tenant override"),
    ]:
        samples = _single_calls_us(
            lambda k=kind, p=payload: evaluate(tenant_id=tenant_id, exception_type=k, payload=p)
        )
        rows.append(
            _row(
                f"evaluate {kind} in process ({label})",
                samples,
                "µs",
                TARGET_EVALUATE_US,
                "none (absolute target)",
            )
        )
    return rows


def _child_env(**extra) -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ)
    env["SECRET_KEY"] = settings.SECRET_KEY
    env["AUDIT_HMAC_KEY"] = settings.AUDIT_HMAC_KEY
    env.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    env["RUNTIME_CONFIG_TTL"] = str(settings.RUNTIME_CONFIG_TTL or 30)
    env["RUNTIME_CONFIG_CHECK_INTERVAL"] = str(settings.RUNTIME_CONFIG_CHECK_INTERVAL)
    env["RUNTIME_LISTENER"] = "true"
    env["LOG_LEVEL"] = "ERROR"
    env["PYTHONPATH"] = str(ROOT)
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(Path(connection.settings_dict["NAME"]).resolve())
    env.update(extra)
    return env


def _activate_timed(principal, tenant_id: str, version: str) -> tuple[float, float]:
    """(wall-clock time right after the commit, seconds the activation call took)."""
    from django.db import transaction

    from governance.services import config_activate

    committed: list[float] = []
    started = time.perf_counter()
    # The activation's own transaction becomes a savepoint of this one, whose first on-commit
    # callback notes the moment the commit returned (before the cache bump's callback).
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.time()))
        config_activate(principal=principal, tenant_id=tenant_id, domain_pack_version=version)
    return committed[0], time.perf_counter() - started


def _mode_label() -> str:
    from runtime_config import push

    return {
        "postgres": "PostgreSQL LISTEN/NOTIFY",
        "redis": "Redis pub/sub",
        "poll": "SQLite, generation poll only",
    }[push.mode()]


def bench_propagation(tenant_id: str, versions: list[str], *, target: float) -> dict:
    """Seconds from the commit of an activation to the first `get_effective_config` in another
    process that returns it, over ACTIVATIONS activations."""
    from runtime_config.models import TenantActiveConfig
    from runtime_config.watch import Watcher
    from tenants.principals import Principal

    principal = Principal.system("bench")
    watcher = Watcher(tenant_id, _child_env())
    active = TenantActiveConfig.objects.select_related("tenant_pack", "domain_pack").get(
        tenant_id=tenant_id
    )
    tenant_version = active.tenant_pack.version if active.tenant_pack else None

    def state(domain_version: str, revision: int) -> str:
        return f"{domain_version}/{tenant_version}/{revision}"

    delays, calls, misses = [], [], 0
    try:
        revision, current = active.revision, active.domain_pack.version
        if watcher.wait_for(state(current, revision), 10)["seen"] != state(current, revision):
            raise RuntimeError("the second process does not see the initial configuration")
        time.sleep(0.5)  # its listener is connected
        for index in range(1, ACTIVATIONS + 1):
            version = versions[1] if current == versions[0] else versions[0]
            time.sleep(0.05 + (index % 7) * 0.07)  # land at varied points of the poll interval
            committed, took = _activate_timed(principal, tenant_id, version)
            revision, current = revision + 1, version
            answer = watcher.wait_for(state(version, revision), 5)
            calls.append(took)
            if answer["seen"] != state(version, revision):
                misses += 1
                delays.append(5.0)
            else:
                delays.append(max(answer["at"] - committed, 0.0))
    finally:
        watcher.close()
    label = _mode_label()
    p50, p99, worst = statistics.median(delays), _pct(delays, 0.99), max(delays)
    return {
        "name": f"propagation of an activation to another process, {label} "
        f"({ACTIVATIONS} activations)",
        "value": round(p50 * 1000, 1),
        "unit": "ms",
        "p50": round(p50 * 1000, 1),
        "p99": round(p99 * 1000, 1),
        "max_ms": round(worst * 1000, 1),
        "baseline_name": None,
        "baseline": None,
        "ratio": None,
        "target": f"p99 <= {target * 1000:g} ms",
        "pass": p99 <= target and not misses,
        "note": f"from the commit to the first get_effective_config in the other process that "
        f"returns the new revision; p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max "
        f"{worst * 1000:.1f} ms; the activation call itself took "
        f"{statistics.median(calls) * 1000:.0f} ms (median); poll interval "
        f"{_child_env()['RUNTIME_CONFIG_CHECK_INTERVAL']} s"
        + (f"; {misses} not seen within 5 s" if misses else ""),
    }


def bench_propagation_elsewhere(label: str, env: dict[str, str]) -> dict:
    """The same figure in a child process on another database or channel (SQLite, Redis)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_runtime", "--propagation-json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {
            "name": f"propagation of an activation to another process, {label}",
            "pass": False,
            "note": f"failed (exit {done.returncode}): {done.stderr[-500:]}",
        }
    return json.loads(lines[-1])


def bench_revocation(tenant_id: str, *, trials: int = 20, target: float = 0.1) -> dict:
    """Seconds from the commit of a token deletion until two other serving processes (gunicorn,
    one worker each, each having answered with that token) both refuse it."""
    from django.contrib.auth import get_user_model

    from bench.common import Client, Gunicorn
    from identity.services import token_mint
    from tenants.models import RoleBinding, Tenant

    database = os.environ.get("DATABASE_URL", "")
    env = _child_env(DEBUG="false", RUNTIME_CONFIG_CHECK_INTERVAL="30")
    if database:
        env["DATABASE_URL"] = database
    url = f"/runtime/tenants/{tenant_id}/config"
    tenant = Tenant.objects.get(pk=tenant_id)
    lags = []
    with Gunicorn(env, workers=1) as first, Gunicorn(env, workers=1) as second:
        for trial in range(trials):
            user = get_user_model().objects.create(username=f"bench-revoke-{tenant_id}-{trial}")
            RoleBinding.objects.create(user=user, role="VIEWER", tenant=tenant)
            key = token_mint(user=user, name="bench", created_by="bench")[1]
            clients = [Client(first.base, key), Client(second.base, key)]
            for client in clients:
                for _ in range(2):
                    if client.get(url).status != 200:
                        raise RuntimeError("the serving process refused a fresh token")
            time.sleep(0.1)
            deleted = _delete_timed(key)
            pending = list(clients)
            while pending and time.time() - deleted < 5:
                pending = [c for c in pending if c.get(url).status != 401]
            lags.append(time.time() - deleted if not pending else 5.0)
    p50, worst = statistics.median(lags), max(lags)
    return {
        "name": f"revocation of a token in two other serving processes, {_mode_label()} "
        f"({trials} tokens)",
        "value": round(p50 * 1000, 1),
        "unit": "ms",
        "p50": round(p50 * 1000, 1),
        "max_ms": round(worst * 1000, 1),
        "target": f"max <= {target * 1000:g} ms",
        "pass": worst <= target,
        "note": f"from the commit of the token's deletion until both processes answer 401 "
        f"(each had cached the principal; poll interval 30 s, so only push counts); p50 "
        f"{p50 * 1000:.1f} ms, max {worst * 1000:.1f} ms",
    }


def _delete_timed(key: str) -> float:
    from django.db import transaction

    from identity.models import ApiToken
    from identity.tokens import digest_of

    committed: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.time()))
        ApiToken.objects.filter(digest=digest_of(key)).delete()
    return committed[0]


def run() -> list[dict]:
    from runtime_config import push

    tenant_id, versions = _prepare()
    rows = [bench_cache_hit(tenant_id), *bench_evaluate(tenant_id)]
    rows.append(bench_propagation(tenant_id, versions, target=TARGET_PUSH_S))
    if push.mode() != "poll":
        rows.append(bench_revocation(tenant_id))
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
        rows.append(
            bench_propagation_elsewhere(
                "Redis pub/sub", _child_env(CACHE_URL=redis_url, BENCH_CHILD="1")
            )
        )
        sqlite_env = _child_env(BENCH_CHILD="1")
        sqlite_env.pop("DATABASE_URL", None)
        sqlite_env.pop("SQLITE_PATH", None)
        rows.append(bench_propagation_elsewhere("SQLite", sqlite_env))
    return rows


def propagation_json() -> None:
    """`python -m bench.bench_runtime --propagation-json`: one propagation row as JSON, on the
    database and channel of this environment (a throwaway SQLite file without DATABASE_URL)."""
    folder = _setup_alone()
    from runtime_config import push  # after Django is set up: it imports models

    try:
        tenant_id, versions = _prepare()
        target = TARGET_PROPAGATION_S if push.mode() == "poll" else TARGET_PUSH_S
        print(json.dumps(bench_propagation(tenant_id, versions, target=target)))
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def _setup_alone() -> str | None:
    """Returns the throwaway folder to remove afterwards, if one was made."""
    folder = None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
    os.environ.setdefault("AUDIT_HMAC_KEY", "bench-only-audit-chain-key-not-for-production")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("DATABASE_URL"):
        folder = tempfile.mkdtemp(prefix="bench_runtime_")
        os.environ["SQLITE_PATH"] = str(Path(folder) / "bench.sqlite3")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import gc

    gc.freeze()  # like a serving process (onboarding/wsgi.py): it publishes the activations
    return folder


def main() -> None:
    if "--propagation-json" in sys.argv:
        propagation_json()
        return
    folder = _setup_alone()
    try:
        rows = run()
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    columns = ["name", "value", "unit", "p95", "baseline", "ratio", "target", "pass"]
    widths = {c: max(len(c), *(len(str(row.get(c))) for row in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c)).ljust(widths[c]) for c in columns))
    for row in rows:
        if row.get("note"):
            print(f"- {row['name']}: {row['note']}")


if __name__ == "__main__":
    main()
