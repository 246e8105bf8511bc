"""Rate limits for expensive or abusable operations, keyed per principal and per client, shared by
every process and host through Django's cache (Redis when CACHE_URL is set, the database cache
otherwise). Over the limit, either door answers 429 problem+json `rate_limited` with a
`Retry-After` header (seconds until the window that refused ends).

Use it in the view, before the work, on both doors of a path:

    from onboarding import ratelimit

    def post(self, request, webhook_id):                      # a DRF view (API door)
        ratelimit.enforce(request, "webhook_redeliver")
        ...

    @page_view
    @ratelimit.limited("webhook_redeliver")                   # a function view (page door)
    def webhook_redeliver_page(request, webhook_id, delivery_id): ...

    ratelimit.enforce(request, "login", extra_keys={"username": submitted_name})
    ratelimit.hit("export", {"principal": "bob"})              # no request (a command, a task)

Limits live in `settings.RATE_LIMITS`, a scope name to `"<count>/<period>"` (period `s`, `m`, `h`
or `d`, optionally with a multiplier: `"100/5m"`), each read from an environment variable
(`RATE_LIMIT_<SCOPE>`, see onboarding/settings.py and the README). A scope that is not in
RATE_LIMITS is a programming error (ImproperlyConfigured). To limit a new operation: add its
scope there and call `enforce` in its views.

Buckets: each call counts once in the principal's bucket (`request.principal`, else the
authenticated user; anonymous requests have none) and once in the client's bucket (the address
in `request.META[RATE_LIMIT_CLIENT_META]`, REMOTE_ADDR unless a proxy sets another header; IPv6
counted per /64), plus any `extra_keys`. Either bucket over its count refuses the call, and a
refused call counts too (hammering does not reopen the window). Windows are fixed, with a start
offset per key, so buckets do not all reopen at the same second.

Counting is django-ratelimit's core (`get_usage`: `cache.add` then `cache.incr`). Redis
increments atomically; Django's database cache does not (incr is a read then a write), so on it
each count runs in a transaction that holds a lock on its key (an advisory lock on PostgreSQL,
SQLite's write lock), which makes concurrent requests count exactly. When the cache cannot be
reached the call is let through and an error is logged (`RATE_LIMIT_FAIL_OPEN=false` refuses
instead)."""

import functools
import hashlib
import ipaddress
import logging
import math
from collections.abc import Callable, Mapping
from contextlib import contextmanager, nullcontext

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction
from django_ratelimit.core import get_usage

from onboarding.errors import ServiceError

logger = logging.getLogger(__name__)
CACHE_ALIAS = "default"
OFF = "off"  # a scope whose limit is `off` counts nothing
# pg_advisory_xact_lock(namespace, key) namespace of the counters ("RL").
_LOCK_NAMESPACE = 0x524C


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, scope: str, rate: str, retry_after: int):
        super().__init__(
            f"Too many requests for {scope} (at most {rate}); retry in {retry_after} s.",
            extra={"retry_after": retry_after},
        )
        self.headers = {"Retry-After": str(retry_after)}


def enforce(request, scope: str, *, extra_keys: Mapping[str, str] | None = None) -> None:
    """Count one call of `scope` for this request's principal and client (and `extra_keys`);
    raise RateLimited when any of them is over the limit."""
    hit(scope, {**request_keys(request), **(extra_keys or {})})


def limited(scope: str) -> Callable:
    """Decorator form of `enforce` for function views (`view(request, ...)`) and view methods
    (`method(self, request, ...)`). Place it inside `page_view`, which turns RateLimited into
    the error page or problem; DRF views turn it into a problem through the exception handler."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            request = args[0] if hasattr(args[0], "META") else args[1]
            enforce(request, scope)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def hit(scope: str, keys: Mapping[str, str]) -> None:
    """The core: count one call of `scope` in the bucket of each `kind: value` of `keys`."""
    rate = rate_for(scope)
    if rate == OFF:
        return
    waits = [
        wait for kind, value in keys.items() if value and (wait := _count(scope, rate, kind, value))
    ]
    if waits:
        raise RateLimited(scope, rate, max(waits))


def rate_for(scope: str) -> str:
    try:
        return settings.RATE_LIMITS[scope]
    except KeyError:
        raise ImproperlyConfigured(f"No rate limit named {scope!r} in RATE_LIMITS") from None


def request_keys(request) -> dict[str, str]:
    keys = {"client": client_address(request)}
    principal = getattr(request, "principal", None)
    username = getattr(principal, "username", None)
    if not username:
        user = getattr(request, "user", None)
        username = user.get_username() if user is not None and user.is_authenticated else ""
    if username:
        keys["principal"] = username
    return keys


def client_address(request) -> str:
    """The client's address (a proxy's header when RATE_LIMIT_CLIENT_META names one); an IPv6
    client counts per /64, the block one subscriber usually holds."""
    raw = request.META.get(settings.RATE_LIMIT_CLIENT_META) or request.META.get("REMOTE_ADDR")
    text = (raw or "").split(",")[-1].strip()  # X-Forwarded-For: the hop our proxy added
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def _count(scope: str, rate: str, kind: str, value: str) -> int:
    """0 when the bucket is within its limit, else the seconds until its window ends."""
    bucket = f"{kind}:{value}"
    try:
        with _serialized(f"{scope}|{bucket}"):
            usage = get_usage(
                None,
                group=f"onboarding:{scope}",
                key=lambda group, request: bucket,
                rate=rate,
                increment=True,
            )
    except Exception:
        logger.exception("rate limit %s: the cache is unavailable", scope)
        if settings.RATE_LIMIT_FAIL_OPEN:
            return 0
        return 1
    if usage is None or not usage["should_limit"]:
        return 0
    # The window's last second is `time_left` from now, inclusive: it reopens one second later.
    return max(1, math.ceil(usage["time_left"]) + 1)


def _serialized(name: str):
    cache = caches[CACHE_ALIAS]
    if not isinstance(cache, DatabaseCache):
        return nullcontext()  # Redis: add and incr are atomic on the server
    return _locked(name, router.db_for_write(cache.cache_model_class))


@contextmanager
def _locked(name: str, alias: str):
    with transaction.atomic(using=alias):
        connection = connections[alias]
        if connection.vendor == "postgresql":
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, key])
        # SQLite: the transaction itself begins IMMEDIATE (settings), holding the write lock.
        yield
