"""Review benchmark (issue 25 item 3): the runtime endpoint's p99 while VIEWERs reload review pages.

One tenant runs the reference finance packs and has BENCH_REVIEW_SAMPLES sample exceptions; a
PENDING change request moves it to a domain pack with one rule changed, so its decision impact
evaluates every sample under two configurations. The worker's side (queue `impact`) runs once
before the measurement, as `run_worker` would. gunicorn (BENCH_REVIEW_WORKERS sync workers)
then serves:

- baseline: one client reading `GET /runtime/tenants/{id}/config` in a loop for
  BENCH_REVIEW_SECONDS, alone;
- measured: the same loop, same run, same server, while BENCH_REVIEW_VIEWERS VIEWER loops
  reload the review page (`GET /admin/config-changes/{id}` as a browser) as fast as it answers.

The figure is the measured p99 over the baseline p99 (target <= 2x, issue 25). Before the impact
moved to the worker, each review read recomputed a partial impact (3.4-3.9 s of CPU).

Inside `make bench` Django is already set up on a fresh PostgreSQL database (DATABASE_URL). Alone:
`python -m bench.bench_review` on DATABASE_URL (PostgreSQL or SQLite file, migrated). Scale with
the BENCH_REVIEW_* variables (tiny: BENCH_REVIEW_SAMPLES=200 BENCH_REVIEW_SECONDS=3)."""

import copy
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TENANT = "TENANT_BENCH_REVIEW"
TARGET_RATIO = 2.0


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _prepare(samples: int) -> str:
    """The tenant, its packs, its samples and a PENDING request; the request's id. The impact is
    computed by draining the worker's queue, here, before anything is measured."""
    from django.db import connection

    from governance.services import config_activate, tenant_set_approval_policy
    from impact.runs import IMPACT_QUEUE
    from impact.services import sample_set_replace
    from onboarding.worker import drain
    from packs.services import domain_pack_import, tenant_pack_import
    from tenants.principals import Principal
    from tenants.services import tenant_create

    system = Principal.system("bench-review")
    reference = ROOT / "tests" / "data" / "reference"
    domain = json.loads((reference / "domain_capital_markets.json").read_text(encoding="utf-8"))
    tenant = json.loads((reference / "tenant_finance_001.json").read_text(encoding="utf-8"))
    tenant["tenantId"] = TENANT
    tenant_create(principal=system, tenant_id=TENANT, name="Bench review")
    domain_pack_import(principal=system, content=domain, version="v3.2")
    changed = copy.deepcopy(domain)
    changed["severityRules"][1]["severity"] = "CRITICAL"
    domain_pack_import(principal=system, content=changed, version="v3.3")
    tenant_pack_import(
        principal=system,
        tenant_id=TENANT,
        content=tenant,
        version="v1.4",
        domain_pack_version="v3.2",
    )
    config_activate(
        principal=system,
        tenant_id=TENANT,
        domain=domain["domainName"],
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    )
    kinds = sorted(domain["exceptionTypes"])
    lines = [
        json.dumps({"exception_type": kinds[n % len(kinds)], "payload": {"amount": n * 37}})
        for n in range(samples)
    ]
    sample_set_replace(principal=system, tenant_id=TENANT, data="\n".join(lines).encode())
    tenant_set_approval_policy(principal=system, tenant_id=TENANT, require_activation_approval=True)
    outcome = config_activate(
        principal=Principal.system("bench-requester"),
        tenant_id=TENANT,
        domain=domain["domainName"],
        domain_pack_version="v3.3",
        tenant_pack_version="v1.4",
    )
    if outcome.status != "pending":
        raise RuntimeError(f"expected a pending change request, got {outcome.status}")
    drain(queues=(IMPACT_QUEUE,))
    connection.close()
    return str(outcome.change_request.pk)


def _user(username: str, role: str):
    from django.contrib.auth import get_user_model

    from tenants.models import RoleBinding, Tenant

    user = get_user_model().objects.create(username=username)
    RoleBinding.objects.create(user=user, role=role, tenant=Tenant.objects.get(pk=TENANT))
    return user


def _token(username: str, role: str) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=_user(username, role)).key


def _session_cookie(username: str, role: str) -> str:
    """A logged-in browser session of a tenant VIEWER (pages take sessions, not tokens)."""
    from django.conf import settings
    from django.test import Client as DjangoClient

    browser = DjangoClient()
    browser.force_login(_user(username, role))
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={browser.cookies[name].value}"


def _runtime_loop(client, url: str, seconds: float) -> list[float]:
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        response = client.get(url)
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"runtime endpoint answered {response.status}")
    return latencies


def run() -> list[dict]:
    from bench.common import Client, Gunicorn, percentile, service_env

    samples = _int_env("BENCH_REVIEW_SAMPLES", 10_000)
    seconds = float(os.environ.get("BENCH_REVIEW_SECONDS", 20))
    viewers = _int_env("BENCH_REVIEW_VIEWERS", 4)
    workers = _int_env("BENCH_REVIEW_WORKERS", 2)
    gthreads = _int_env("BENCH_REVIEW_THREADS", 1)
    change_id = _prepare(samples)
    reader = _token("bench-review-runtime", "VIEWER")
    sessions = [_session_cookie(f"bench-review-viewer-{n}", "VIEWER") for n in range(viewers)]
    runtime_url = f"/runtime/tenants/{TENANT}/config"
    review_url = f"/admin/config-changes/{change_id}"
    env = service_env(os.environ["DATABASE_URL"])
    extra = ("--threads", str(gthreads)) if gthreads > 1 else ()
    with Gunicorn(env, workers=workers, extra_args=extra) as server:
        client = Client(server.base, reader)
        for _ in range(20):
            client.get(runtime_url)  # warm: the first reads load the configuration
        alone = _runtime_loop(client, runtime_url, seconds)

        stop = threading.Event()
        reloads: list[float] = []
        failures: list[int] = []

        def reload_loop(cookie: str) -> None:
            viewer = Client(server.base)
            page = {"Accept": "text/html", "Cookie": cookie}
            while not stop.is_set():
                started = time.perf_counter()
                response = viewer.get(review_url, headers=page)
                reloads.append(time.perf_counter() - started)
                if response.status != 200 or b"Decision impact" not in response.body:
                    failures.append(response.status)

        threads = [threading.Thread(target=reload_loop, args=(c,)) for c in sessions]
        for thread in threads:
            thread.start()
        try:
            loaded = _runtime_loop(client, runtime_url, seconds)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    base_p99, p99 = percentile(alone, 0.99), percentile(loaded, 0.99)
    ratio = p99 / base_p99 if base_p99 else float("inf")
    passed = ratio <= TARGET_RATIO and not failures and len(reloads) > 0
    return [
        {
            "name": f"runtime endpoint p99 while {viewers} VIEWERs reload a review page "
            f"({samples:,} samples)",
            "value": round(p99 * 1000, 2),
            "unit": "ms",
            "p50": round(percentile(loaded, 0.5) * 1000, 2),
            "baseline": round(base_p99 * 1000, 2),
            "baseline_name": "the runtime endpoint alone, same server, same run (p99)",
            "ratio": round(ratio, 2),
            "target": f"<= {TARGET_RATIO:g}x",
            "pass": bool(passed),
            "note": f"{len(alone)} runtime reads alone, {len(loaded)} while loaded; "
            f"{len(reloads)} review page loads (p50 {percentile(reloads, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(reloads, 0.99) * 1000:.1f} ms), {len(failures)} failed; "
            f"gunicorn {workers} workers x {gthreads} thread(s), {seconds:g} s per phase; the "
            f"review's impact is the worker's stored run (queue impact, computed before the "
            f"measurement)",
        }
    ]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
    os.environ.setdefault("AUDIT_HMAC_KEY", "bench-only-audit-chain-key-not-for-production")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    for row in run():
        print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
