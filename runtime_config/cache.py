"""The runtime cache: per-process entries keyed by tenant, and a generation value every process
can see, replaced after each change that alters some tenant's effective configuration.

The hit path (runtime_config.runtime.get_effective_config) is a dict lookup and a
`time.monotonic()` comparison. This module holds the entries and the generation and imports no
other module of the app; publishing a change and the listener are runtime_config.push's.
Changes reach other processes two ways (docs/deployment.md, "Runtime propagation"):

- push: every change publishes a message (runtime_config.push) that each process's listener
  thread receives within milliseconds; `<tenant>:<revision>` drops one tenant, `*` everything,
  `!auth` the cached principals;
- poll, the fallback: a shared generation value (Redis through CACHE_URL, else Django's database
  cache table), replaced by every change and read at most every RUNTIME_CONFIG_CHECK_INTERVAL; a
  value a process has not seen clears its entries. While the listener thread runs, it does the
  reading (the request path never queries); otherwise the request path does, as before.

A bump writes a fresh random value rather than incrementing: the database cache's `incr` is a
read then a write, and two concurrent bumps could otherwise write the same number and hide one
change.

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

log = logging.getLogger(__name__)
GENERATION_KEY = "runtime_config:generation"
UNPUSHED = "!"
WARNING_EVERY = 60.0
DOWN_BACKOFF = 5.0

# tenant_id -> (expires_at monotonic, value). Values are EffectiveConfig objects or the
# ServiceError a load raised (a refusal is cached like a config, so errors cost no query either).
_entries: dict[str, tuple[float, Any]] = {}
# token key -> (expires_at monotonic, Principal): the runtime endpoints authenticate without a
# query on a hit. Dropped with every `!auth` message and every generation change.
_principals: dict[str, tuple[float, Any]] = {}
MAX_PRINCIPALS = 10_000
_lock = threading.RLock()


class _State:
    next_check = 0.0
    generation: Any = None
    # Bumped on every local clear: a load that started before a clear must not be stored after it.
    epoch = 0
    backend_ok: bool | None = None
    last_warning = -WARNING_EVERY


state = _State()


def store(tenant_id: str, value: Any, epoch: int) -> None:
    with _lock:
        if epoch == state.epoch:
            _entries[tenant_id] = (time.monotonic() + settings.RUNTIME_CONFIG_TTL, value)


def clear_local() -> None:
    with _lock:
        state.epoch += 1
        _entries.clear()
        _principals.clear()


def reset_after_fork() -> None:
    """A forked child starts empty, with a fresh lock (the parent's may have been held)."""
    global _lock
    _lock = threading.RLock()
    state.epoch += 1
    state.next_check = 0.0
    _entries.clear()
    _principals.clear()


def drop(tenant_id: str) -> bool:
    """Forget one tenant; True when it was cached. Any load in flight is not stored."""
    with _lock:
        state.epoch += 1
        return _entries.pop(tenant_id, None) is not None


def clear_principals() -> None:
    with _lock:
        state.epoch += 1
        _principals.clear()


def principal_lookup(key: str) -> Any:
    entry = _principals.get(key)
    if entry is not None and entry[0] > time.monotonic():
        return entry[1]
    return None


def principal_store(key: str, principal: Any, epoch: int) -> None:
    ttl = settings.RUNTIME_CONFIG_TTL
    if ttl <= 0:
        return
    with _lock:
        if epoch != state.epoch:
            return
        if len(_principals) >= MAX_PRINCIPALS:
            _principals.clear()  # a flood of distinct tokens must not grow memory without bound
        _principals[key] = (time.monotonic() + ttl, principal)


def served() -> dict[str, Any]:
    """The configurations this process would answer from its cache now (convergence)."""
    now = time.monotonic()
    return {
        tenant_id: entry[1]
        for tenant_id, entry in list(_entries.items())
        if entry[0] > now and hasattr(entry[1], "revision")
    }


def check_generation(now: float | None = None, *, push_continuous: bool = False) -> None:
    """Read the shared generation; a value not seen before clears every entry, unless the push
    channel was connected the whole time since the last read (`push_continuous`): then every
    change behind it has already arrived as a message."""
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
        # A change whose message could not be sent is marked, so that nobody skips it.
        if not push_continuous or str(generation).startswith(UNPUSHED):
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


def bump_generation(message: str = "*", *, pushed: bool = False) -> None:
    # This process sees its own change at once; the others by push, else within a check interval.
    apply_message(message)
    generation = secrets.token_hex(8) if pushed else UNPUSHED + secrets.token_hex(8)
    try:
        cache.set(GENERATION_KEY, generation, timeout=None)
    except Exception:
        log.warning("runtime cache generation could not be bumped; processes fall back to TTL")
        return
    state.generation = generation


def apply_message(message: str) -> str | None:
    """Act on one change message; returns the tenant id it named, if any."""
    if message == "!auth":
        clear_principals()
        return None
    tenant_id, sep, _ = message.partition(":")
    if message == "*" or not sep or not tenant_id:
        clear_local()
        return None
    drop(tenant_id)
    return tenant_id
