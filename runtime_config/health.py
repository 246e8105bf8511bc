"""Runtime health for /healthz (merged in by console.views.healthz). Per process: each worker
reports what it has seen itself."""

import threading

from runtime_config.cache import backend_status

_lock = threading.Lock()
_failures = 0
_failing: set[str] = set()


def integrity_failed(tenant_id: str) -> None:
    global _failures
    with _lock:
        _failures += 1
        _failing.add(tenant_id)


def integrity_ok(tenant_id: str) -> None:
    if tenant_id in _failing:
        with _lock:
            _failing.discard(tenant_id)


def integrity_failures() -> int:
    return _failures


def runtime_health() -> dict:
    """`runtime` is degraded while some tenant is refused for altered content or while the shared
    cache is down (processes then notice activations only by TTL)."""
    cache_status = backend_status()
    degraded = bool(_failing) or cache_status != "ok"
    return {
        "runtime": "degraded" if degraded else "ok",
        "integrity_failures": _failures,
        "refused_tenants": len(_failing),  # a count: /healthz is public, tenant ids are not
        "cache": cache_status,
    }


def reset() -> None:
    """Forget refusals and counts (tests: a rolled-back tamper must not leave /healthz degraded)."""
    global _failures
    with _lock:
        _failures = 0
        _failing.clear()
