"""The runtime cache: per-process entries keyed by tenant, and a generation value every process
can see, replaced after each change that alters some tenant's effective configuration.

The hit path (`lookup`) is a dict lookup and a `time.monotonic()` comparison. At most every
RUNTIME_CONFIG_CHECK_INTERVAL a process reads the shared generation (Redis through CACHE_URL,
else Django's database cache table); a value it has not seen clears its entries. A bump writes a
fresh random value rather than incrementing: the database cache's `incr` is a read then a write,
and two concurrent bumps could otherwise write the same number and hide one change.

When the shared cache is down, entries still expire after RUNTIME_CONFIG_TTL, a warning is logged
(at most once a minute) and the check backs off, so a caller never waits on a dead backend more
than once per back-off period and never gets an error from it."""

import logging
import secrets
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)
GENERATION_KEY = "runtime_config:generation"
WARNING_EVERY = 60.0
DOWN_BACKOFF = 5.0

# tenant_id -> (expires_at monotonic, value). Values are EffectiveConfig objects or the
# ServiceError a load raised (a refusal is cached like a config, so errors cost no query either).
_entries: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


class _State:
    next_check = 0.0
    generation: Any = None
    # Bumped on every local clear: a load that started before a clear must not be stored after it.
    epoch = 0
    backend_ok: bool | None = None
    last_warning = -WARNING_EVERY


state = _State()


def lookup(tenant_id: str) -> Any:
    """The cached value for a tenant, or None. The hot path of `get_effective_config`."""
    now = time.monotonic()
    if now >= state.next_check:
        check_generation(now)
    entry = _entries.get(tenant_id)
    if entry is not None and entry[0] > now:
        return entry[1]
    return None


def store(tenant_id: str, value: Any, epoch: int) -> None:
    with _lock:
        if epoch == state.epoch:
            _entries[tenant_id] = (time.monotonic() + settings.RUNTIME_CONFIG_TTL, value)


def clear_local() -> None:
    with _lock:
        state.epoch += 1
        _entries.clear()


def check_generation(now: float | None = None) -> None:
    now = time.monotonic() if now is None else now
    try:
        generation = cache.get(GENERATION_KEY)
    except Exception:
        _backend_down(now)
        return
    _backend_up()
    state.next_check = now + settings.RUNTIME_CONFIG_CHECK_INTERVAL
    if generation != state.generation:
        state.generation = generation
        clear_local()


def _backend_down(now: float) -> None:
    state.backend_ok = False
    state.next_check = now + max(settings.RUNTIME_CONFIG_CHECK_INTERVAL, DOWN_BACKOFF)
    if now - state.last_warning >= WARNING_EVERY:
        state.last_warning = now
        log.warning(
            "runtime cache backend unreachable: configurations expire by TTL only (%ss) "
            "until it is back",
            settings.RUNTIME_CONFIG_TTL,
        )


def _backend_up() -> None:
    if state.backend_ok is False:
        log.warning("runtime cache backend reachable again")
    state.backend_ok = True


def backend_status() -> str:
    """'ok' or 'down', asked live (for /healthz)."""
    try:
        cache.get(GENERATION_KEY)
    except Exception:
        state.backend_ok = False
        return "down"
    return "ok"


def bump_generation() -> None:
    # This process sees its own change at once; the others within a check interval.
    clear_local()
    generation = secrets.token_hex(8)
    try:
        cache.set(GENERATION_KEY, generation, timeout=None)
    except Exception:
        log.warning("runtime cache generation could not be bumped; processes fall back to TTL")
        return
    state.generation = generation


def bump_generation_on_commit() -> None:
    transaction.on_commit(bump_generation)
