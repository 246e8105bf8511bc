"""The cost of the Prometheus metrics (issue 26): the runtime config endpoint's throughput under
gunicorn (2 sync workers) with metrics on (METRICS_ENABLED, PROMETHEUS_MULTIPROC_DIR, the
gunicorn hooks of onboarding.gunicorn_config) against the same server with metrics off, in the
same run, loaded alternately; and the time of one `GET /metrics` scrape.

Target: a request's overhead from metrics at most 5 % of the endpoint's throughput (on ≥ 0.95 x
off). Both servers log at the same level (the request log line is not part of the comparison).

Standalone, at small scale: `python -m bench.bench_metrics` (a fresh database BENCH_DB, default
bench_metrics; BENCH_METRICS_SECONDS and BENCH_METRICS_ROUNDS set the load)."""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from prometheus_client.parser import text_string_to_metric_families

from bench.common import ROOT, Client, Gunicorn, service_env
from bench.http import TENANT, ensure_wrk, run_python, run_wrk, seed_active_tenant

# Many short pairs rather than a few long ones: on a shared machine a neighbour's burst spoils one
# pair, and the median of the pairs' ratios leaves it out.
SECONDS = int(os.environ.get("BENCH_METRICS_SECONDS", "2"))
ROUNDS = int(os.environ.get("BENCH_METRICS_ROUNDS", "9"))
SCRAPES = 20
TARGET_RATIO = 0.95
PATH = f"/runtime/tenants/{TENANT}/config"


def _token() -> str:
    from django.contrib.auth import get_user_model

    from identity.services import token_mint
    from tenants.models import RoleBinding

    user, created = get_user_model().objects.get_or_create(username="bench-metrics")
    if created:
        RoleBinding.objects.create(user=user, role="VIEWER", tenant=None)
    return token_mint(user=user, name="bench", created_by="bench")[1]


def _load(wrk: str | None, base: str, token: str) -> dict:
    from bench import http

    http.DURATION_S = SECONDS
    if wrk:
        return run_wrk(wrk, base + PATH, token)
    return run_python(base, PATH, token)


def run() -> list[dict]:
    if seed_active_tenant() is None:
        return []
    token = _token()
    wrk = ensure_wrk()
    database_url = os.environ["DATABASE_URL"]  # bench.common.setup_django set it
    multiproc = tempfile.mkdtemp(prefix="bench-metrics-")
    on_env = service_env(
        database_url,
        "bench.settings",
        METRICS_ENABLED="true",
        PROMETHEUS_MULTIPROC_DIR=multiproc,
    )
    off_env = service_env(database_url, "bench.settings", METRICS_ENABLED="false")
    off_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    hooks = ("-c", "python:onboarding.gunicorn_config")
    with Gunicorn(on_env, workers=2, extra_args=hooks) as on, Gunicorn(off_env, workers=2) as off:
        for server in (on, off):
            assert Client(server.base, token).get(PATH).status == 200
        on_rounds, off_rounds, ratios = [], [], []
        for index in range(ROUNDS):
            # Alternating order, and the ratio of each pair: the shared machine's drift between
            # rounds cancels out of a pair's ratio better than out of two separate medians.
            first, second = (off, on) if index % 2 == 0 else (on, off)
            results = {first.base: _load(wrk, first.base, token)}
            results[second.base] = _load(wrk, second.base, token)
            on_rounds.append(results[on.base])
            off_rounds.append(results[off.base])
            if results[off.base]["rps"]:
                ratios.append(results[on.base]["rps"] / results[off.base]["rps"])
        scrape_ms = []
        scraper = Client(on.base, token)
        for _ in range(SCRAPES):
            started = time.perf_counter()
            response = scraper.get("/metrics", headers={"Accept": "text/plain"})
            scrape_ms.append((time.perf_counter() - started) * 1000)
            assert response.status == 200, response.body[:200]
        counted = sum(
            sample.value
            for family in text_string_to_metric_families(response.body.decode())
            for sample in family.samples
            if sample.name == "onboarding_http_requests_total"
            and sample.labels.get("route") == "runtime/tenants/<str:tenant_id>/config"
        )
    on_rps = statistics.median(r["rps"] for r in on_rounds)
    off_rps = statistics.median(r["rps"] for r in off_rounds)
    ratio = statistics.median(ratios) if ratios else 0.0
    per_request_us = _metrics_work_us()
    # What that work is of one request's time in a worker (2 workers share the load).
    share = per_request_us / (2 / off_rps * 1e6) if off_rps else 0.0
    errors = sum(r["errors"] for r in on_rounds + off_rounds)
    tool = on_rounds[0]["tool"]
    return [
        {
            "name": "metrics work per request (in-process, multiprocess files)",
            "unit": "us",
            "value": per_request_us,
            "target": "≤ 5 % of one request's time with metrics off",
            "pass": share <= 0.05,
            "note": f"request counter, latency histogram and a runtime cache hit, {WORK_LOOPS} "
            f"times in a process with PROMETHEUS_MULTIPROC_DIR; {100 * share:.1f} % of the "
            f"{2 / off_rps * 1e6:.0f} us a request takes in one of 2 workers with metrics off",
        },
        {
            "name": "GET /runtime/tenants/{id}/config with metrics on",
            "unit": "req/s",
            "value": on_rps,
            "baseline_name": "the same endpoint and server settings with METRICS_ENABLED=false, "
            "same run, alternating rounds",
            "baseline": off_rps,
            "ratio": ratio,
            "target": f"≥ {TARGET_RATIO} x metrics off (overhead ≤ 5 %)",
            "pass": ratio >= TARGET_RATIO and errors == 0,
            "note": f"ratio: median of {ROUNDS} rounds' on/off ratios (each round both servers, "
            f"order alternating); value and baseline: median req/s; {tool}, 2 gunicorn sync "
            "workers each, rounds of "
            f"{SECONDS} s; overhead {100 * (1 - ratio):.1f} %; errors {errors}; the metrics-on "
            f"server counted {counted:.0f} of its {sum(r['requests'] for r in on_rounds) + 1} "
            "requests (wrk may count fewer than were answered)",
        },
        {
            "name": "GET /metrics (one scrape, 2 workers' files summed)",
            "unit": "ms",
            "value": statistics.median(scrape_ms),
            "target": "report",
            "pass": True,
            "note": f"median of {SCRAPES} scrapes after the load above; "
            f"max {max(scrape_ms):.1f} ms",
        },
    ]


WORK_LOOPS = 50_000
_WORK = """
import time
from onboarding import metrics
route = "runtime/tenants/<str:tenant_id>/config"
count = metrics.REQUESTS.labels(route, "GET", "200")
duration = metrics.REQUEST_SECONDS.labels(route, "GET")
started = time.perf_counter()
for _ in range({loops}):
    count.inc()
    duration.observe(0.0005)
    metrics.CACHE_HIT.inc()
print((time.perf_counter() - started) / {loops} * 1e6)
"""


def _metrics_work_us() -> float:
    """Microseconds of metric updates one runtime request makes, in multiprocess mode (a
    process of its own: the client picks its storage when first imported)."""
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
        out = subprocess.run(
            [sys.executable, "-c", _WORK.format(loops=WORK_LOOPS)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    from bench.common import recreate_database, setup_django

    url = recreate_database(os.environ.get("BENCH_DB", "bench_metrics"))
    setup_django(url, "bench.settings")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for row in run():
        print(row)


if __name__ == "__main__":
    main()
