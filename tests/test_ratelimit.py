"""The kernel rate limiter (onboarding.ratelimit): buckets per principal and per client, shared
through Django's cache (the database cache, and Redis), exact under concurrency, 429 with
Retry-After. Its use on an endpoint is tested there (tests/webhooks/test_caps.py)."""

import threading
import types
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test import RequestFactory

from onboarding import ratelimit
from onboarding.ratelimit import RateLimited
from tenants.principals import Principal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limits(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test_scope": "3/m"}
    # A fresh scope per test: buckets live in the shared cache table, outside test rollbacks.
    scope = f"test_scope_{uuid.uuid4().hex[:8]}"
    settings.RATE_LIMITS[scope] = "3/m"
    return scope


def request(username: str | None, address: str = "192.0.2.10", **meta):
    made = RequestFactory().post("/x", REMOTE_ADDR=address, **meta)
    if username:
        made.principal = Principal.system(username)
    return made


def calls(scope: str, made, count: int) -> list[int | None]:
    """For each call: None when let through, else the Retry-After it was refused with."""
    outcomes = []
    for _ in range(count):
        try:
            ratelimit.enforce(made, scope)
            outcomes.append(None)
        except RateLimited as exc:
            outcomes.append(int(exc.headers["Retry-After"]))
    return outcomes


def test_enforce__over_the_limit__429_rate_limited_with_retry_after(limits):
    outcomes = calls(limits, request("bob"), 5)
    assert outcomes[:3] == [None, None, None]
    assert all(wait is not None and 1 <= wait <= 60 for wait in outcomes[3:]), outcomes
    with pytest.raises(RateLimited) as caught:
        ratelimit.enforce(request("bob"), limits)
    problem = caught.value.as_problem()
    assert (problem["status"], problem["code"], problem["type"]) == (
        429,
        "rate_limited",
        "/errors/rate_limited",
    )
    assert problem["retry_after"] == int(caught.value.headers["Retry-After"])


def test_enforce__buckets__per_principal_and_per_client(limits):
    assert calls(limits, request("bob", "192.0.2.1"), 3) == [None] * 3
    # Same client, another principal: the client's bucket is full.
    assert calls(limits, request("alice", "192.0.2.1"), 1)[0] is not None
    # Another client, the same principal: the principal's bucket is full.
    assert calls(limits, request("bob", "192.0.2.2"), 1)[0] is not None
    # Neither seen before: through.
    assert calls(limits, request("carol", "192.0.2.3"), 1) == [None]


def test_enforce__anonymous__client_bucket_only_ipv6_per_64(limits):
    assert calls(limits, request(None, "2001:db8:1:2::1"), 3) == [None] * 3
    assert calls(limits, request(None, "2001:db8:1:2:ffff::9"), 1)[0] is not None  # same /64
    assert calls(limits, request(None, "2001:db8:1:3::1"), 1) == [None]


def test_enforce__proxy_header_configured__last_hop_is_the_client(limits, settings):
    settings.RATE_LIMIT_CLIENT_META = "HTTP_X_FORWARDED_FOR"
    spoofed = [
        request(None, "10.0.0.1", HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 192.0.2.50")
        for i in (1, 2, 3, 4)
    ]
    outcomes = [calls(limits, made, 1)[0] for made in spoofed]
    assert outcomes[:3] == [None] * 3 and outcomes[3] is not None


def test_limited__decorator_on_a_view__refuses_past_the_limit(limits):
    @ratelimit.limited(limits)
    def view(made):
        return "ran"

    made = request("dave")
    assert [view(made) for _ in range(3)] == ["ran"] * 3
    with pytest.raises(RateLimited):
        view(made)


def test_hit__window_ends__bucket_reopens(limits, monkeypatch):
    import django_ratelimit.core as core

    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(core, "time", types.SimpleNamespace(time=lambda: now["t"]))
    keys = {"principal": "erin"}
    for _ in range(3):
        ratelimit.hit(limits, keys)
    with pytest.raises(RateLimited) as caught:
        ratelimit.hit(limits, keys)
    now["t"] += int(caught.value.headers["Retry-After"])
    ratelimit.hit(limits, keys)  # a new window


def test_hit__unknown_scope__improperly_configured():
    with pytest.raises(ImproperlyConfigured):
        ratelimit.hit("no_such_scope", {"principal": "x"})


def _concurrent_hits(scope: str, threads: int) -> int:
    """How many of `threads` simultaneous calls of one principal were let through."""
    barrier = threading.Barrier(threads)
    passed = []

    def one() -> None:
        try:
            barrier.wait()
            ratelimit.hit(scope, {"principal": "burst"})
            passed.append(1)
        except RateLimited:
            pass
        finally:
            connections.close_all()

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(passed)


@pytest.mark.postgres
def test_hit__concurrent_calls_on_the_database_cache__exactly_the_limit_pass(limits, settings):
    settings.RATE_LIMITS[limits] = "5/m"
    assert _concurrent_hits(limits, 16) == 5


@pytest.fixture
def redis_cache(settings):
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test_webhooks_{uuid.uuid4().hex}",
        }
    }


def test_hit__redis_cache__concurrent_calls_exactly_the_limit_pass(limits, settings, redis_cache):
    settings.RATE_LIMITS[limits] = "5/m"
    assert _concurrent_hits(limits, 16) == 5


@pytest.mark.parametrize(("fail_open", "refused"), [(True, False), (False, True)])
def test_hit__cache_unreachable__fail_open_setting_decides(limits, settings, fail_open, refused):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.RATE_LIMIT_FAIL_OPEN = fail_open
    outcome = calls(limits, request("frank"), 1)[0]
    assert (outcome is not None) is refused
