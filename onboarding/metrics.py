"""Prometheus metrics (docs/operability.md): the metric objects every app moves, and the registry
`GET /metrics` exposes.

The official `prometheus_client` in its multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set
(gunicorn: each worker writes its values to memory-mapped files in that directory, and a scrape
of any worker sums them; `onboarding.gunicorn_config` empties the directory when the server
starts and marks a dead worker's gauges): set it before the process starts, since the client
chooses its storage when it is first imported. Unset (`make run`, tests, one process), values
live in the process.

Values that the database knows better than any process (webhook queue depth, processes not
converged) are computed at scrape time: an app registers a *scrape collector* with
`register_scrape_collector` in its AppConfig.ready; each returns metric families
(`prometheus_client.core.GaugeMetricFamily`, ...). A failing collector is logged and skipped: a
scrape never fails because one source is down.

Labels are bounded: a request is counted by its URL pattern (`admin/tenants/<str:tenant_id>`),
never by its raw path, and an unknown path by `(unmatched)`."""

import logging
import os
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.core import Metric
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger(__name__)
PREFIX = "onboarding"

# --- requests (onboarding.observability.RequestObservabilityMiddleware) --------------------------

REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by URL pattern, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# --- configuration changes (console.metrics: receivers of the domain signals, on commit) -------

ACTIVATIONS = Counter(
    f"{PREFIX}_activations",
    "Configurations activated (committed), by kind (activate, policy, ...; rollbacks apart).",
    ["kind"],
)
ROLLBACKS = Counter(f"{PREFIX}_rollbacks", "Rollbacks to an earlier configuration (committed).")
CHANGE_REQUESTS = Counter(
    f"{PREFIX}_change_requests",
    "Change request transitions (committed), by outcome: requested, approved, rejected, "
    "cancelled, stale, scheduled, applied, refused.",
    ["outcome"],
)

# --- runtime (runtime_config) ------------------------------------------------------------------

PROPAGATION_LAG = Histogram(
    f"{PREFIX}_propagation_lag_seconds",
    "From an activation's commit to a serving process loading the new revision.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RUNTIME_CACHE = Counter(
    f"{PREFIX}_runtime_cache_lookups",
    "Runtime configuration lookups, by result: hit (served from the process cache) or miss.",
    ["result"],
)
LISTENER_RECONNECTS = Counter(
    f"{PREFIX}_listener_reconnects",
    "Reconnections of a serving process's push listener (PostgreSQL LISTEN or Redis pub/sub).",
)

# --- impact (impact.engine) --------------------------------------------------------------------

IMPACT_SECONDS = Histogram(
    f"{PREFIX}_impact_run_seconds",
    "Time of one decision impact run (every sample under both configurations), by result.",
    ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# The label values of the cache counter, resolved once (the hit path is the runtime's hot path).
CACHE_HIT = RUNTIME_CACHE.labels(result="hit")
CACHE_MISS = RUNTIME_CACHE.labels(result="miss")

ScrapeCollector = Callable[[], Iterable[Metric]]
_scrape_collectors: dict[str, ScrapeCollector] = {}


def register_scrape_collector(name: str, collect: ScrapeCollector) -> None:
    """`collect()` runs at every scrape and returns metric families (from the database)."""
    _scrape_collectors[name] = collect


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


class _ScrapeTime(Collector):
    def collect(self) -> Iterable[Metric]:
        for name, collect in list(_scrape_collectors.items()):
            try:
                families = list(collect())
            except Exception:
                log.exception("metrics: scrape collector %s failed; its metrics are left out", name)
                continue
            yield from families


class _ThisProcess(Collector):
    """The in-process registry (no multiprocess directory)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition() -> bytes:
    """The Prometheus text of every metric: summed over every process of the server in
    multiprocess mode, plus the scrape-time collectors."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        _multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_ScrapeTime())
    return generate_latest(registry)
