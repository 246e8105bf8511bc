"""Review benchmark (issue 25 item 3): the runtime endpoint's p99 while VIEWERs reload review pages.

One tenant runs the reference finance packs and has BENCH_REVIEW_SAMPLES sample exceptions; a
PENDING change request moves it to a domain pack with one rule changed, so its decision impact
evaluates every sample under two configurations. The worker's side (queue `impact`) runs once
before the measurement, as `run_worker` would. Then, twice (two rows):

- one gunicorn (BENCH_REVIEW_WORKERS sync workers) serves both the pages and the runtime;
- the runtime on a gunicorn of its own (RUNTIME_WORKERS) and the console's at `nice` CONSOLE_NICE,
  the deployment docs/deployment.md recommends.

Each time: baseline, one client reading `GET /runtime/tenants/{id}/config` in a loop for
BENCH_REVIEW_SECONDS, alone; measured, the same loop, same servers, while BENCH_REVIEW_VIEWERS
VIEWER loops (each a process of its own) reload the review page (`GET /admin/config-changes/{id}`
as a browser) as fast as it answers.

The figure is the measured p99 over the baseline p99 (target <= 2x, issue 25). Before the impact
moved to the worker, each review read recomputed a partial impact (3.4-3.9 s of CPU).

Inside `make bench` Django is already set up on a fresh PostgreSQL database (DATABASE_URL). Alone:
`python -m bench.bench_review` on DATABASE_URL (PostgreSQL or SQLite file, migrated). Scale with
the BENCH_REVIEW_* variables (tiny: BENCH_REVIEW_SAMPLES=200 BENCH_REVIEW_SECONDS=3)."""

import copy
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TENANT = "TENANT_BENCH_REVIEW"
TARGET_RATIO = 2.0
CONSOLE_NICE = 10
RUNTIME_WORKERS = 2


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
    from identity.services import token_mint

    return token_mint(user=_user(username, role), name="bench", created_by="bench")[1]


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


def _reload_loop(base: str, url: str, cookie: str, stop, results) -> None:
    """A VIEWER reloading the review page as fast as it answers, until `stop`."""
    from bench.common import Client

    viewer = Client(base)
    page = {"Accept": "text/html", "Cookie": cookie}
    times, failures = [], []
    while not stop.is_set():
        started = time.perf_counter()
        response = viewer.get(url, headers=page)
        times.append(time.perf_counter() - started)
        if response.status != 200 or b"Decision impact" not in response.body:
            failures.append(response.status)
    results.put((times, failures))


def _measure(pages_base: str, runtime_base: str, reader: str, sessions, urls, seconds: float):
    """The runtime loop alone, then again while the VIEWER loops reload the review page."""
    from bench.common import Client

    runtime_url, review_url = urls
    client = Client(runtime_base, reader)
    for _ in range(20):
        client.get(runtime_url)  # warm: the first reads load the configuration
    alone = _runtime_loop(client, runtime_url, seconds)
    # The VIEWER loops run in processes of their own: threads beside the measuring loop would
    # hold its interpreter lock and add their own wait to the runtime's figure.
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    results = context.Queue()
    loops = [
        context.Process(target=_reload_loop, args=(pages_base, review_url, c, stop, results))
        for c in sessions
    ]
    for loop in loops:
        loop.start()
    try:
        loaded = _runtime_loop(client, runtime_url, seconds)
    finally:
        stop.set()
        reloads: list[float] = []
        failures: list[int] = []
        for _ in loops:
            times, failed = results.get(timeout=120)
            reloads.extend(times)
            failures.extend(failed)
        for loop in loops:
            loop.join()
    return alone, loaded, reloads, failures


def _row(name: str, measured, setup: str, seconds: float) -> dict:
    from bench.common import percentile

    alone, loaded, reloads, failures = measured
    base_p99, p99 = percentile(alone, 0.99), percentile(loaded, 0.99)
    ratio = p99 / base_p99 if base_p99 else float("inf")
    return {
        "name": name,
        "value": round(p99 * 1000, 2),
        "unit": "ms",
        "p50": round(percentile(loaded, 0.5) * 1000, 2),
        "baseline": round(base_p99 * 1000, 2),
        "baseline_name": "the runtime endpoint alone, same servers, same run (p99)",
        "ratio": round(ratio, 2),
        "target": f"<= {TARGET_RATIO:g}x",
        "pass": bool(ratio <= TARGET_RATIO and not failures and reloads),
        "note": f"{len(alone)} runtime reads alone, {len(loaded)} while loaded; "
        f"{len(reloads)} review page loads (p50 {percentile(reloads, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(reloads, 0.99) * 1000:.1f} ms), {len(failures)} failed; {setup}, "
        f"{seconds:g} s per phase; the review's impact is the worker's stored run (queue "
        f"impact, computed before the measurement)",
    }


def run() -> list[dict]:
    from bench.common import Gunicorn, service_env

    samples = _int_env("BENCH_REVIEW_SAMPLES", 10_000)
    seconds = float(os.environ.get("BENCH_REVIEW_SECONDS", 20))
    viewers = _int_env("BENCH_REVIEW_VIEWERS", 4)
    workers = _int_env("BENCH_REVIEW_WORKERS", 2)
    gthreads = _int_env("BENCH_REVIEW_THREADS", 1)
    change_id = _prepare(samples)
    reader = _token("bench-review-runtime", "VIEWER")
    sessions = [_session_cookie(f"bench-review-viewer-{n}", "VIEWER") for n in range(viewers)]
    urls = (f"/runtime/tenants/{TENANT}/config", f"/admin/config-changes/{change_id}")
    env = service_env(os.environ["DATABASE_URL"])
    extra = ("--threads", str(gthreads)) if gthreads > 1 else ()
    title = (
        f"runtime endpoint p99 while {viewers} VIEWERs reload a review page ({samples:,} samples)"
    )
    with Gunicorn(env, workers=workers, extra_args=extra) as server:
        shared = _measure(server.base, server.base, reader, sessions, urls, seconds)
    # The deployment docs/deployment.md recommends: the runtime on processes of its own (the
    # proxy routes /runtime/ there), the console's at a lower CPU priority.
    with (
        Gunicorn(env, workers=workers, extra_args=extra, nice=CONSOLE_NICE) as console,
        Gunicorn(env, workers=RUNTIME_WORKERS) as runtime,
    ):
        planes = _measure(console.base, runtime.base, reader, sessions, urls, seconds)
    return [
        _row(
            f"{title}, one server for both",
            shared,
            f"one gunicorn, {workers} workers x {gthreads} thread(s)",
            seconds,
        ),
        _row(
            f"{title}, the runtime on its own processes",
            planes,
            f"console gunicorn {workers} workers x {gthreads} thread(s) at nice "
            f"{CONSOLE_NICE}, runtime gunicorn {RUNTIME_WORKERS} workers",
            seconds,
        ),
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
