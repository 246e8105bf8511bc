"""The process cache and the shared generation; a cache backend that is down."""

import logging
import time

import pytest
from django.core.cache import cache

from runtime_config import cache as runtime_cache
from runtime_config.cache import GENERATION_KEY, bump_generation
from runtime_config.health import runtime_health
from runtime_config.runtime import get_effective_config, invalidate
from tests.runtime_config.runtime_support import (
    FINANCE,
    activate_direct,
    make_finance_tenant,
    store_domain,
    store_tenant,
)
from tests.waiting import wait_until

# A local port nothing listens on: connecting is refused at once.
DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture(autouse=True)
def fresh_cache():
    invalidate()
    runtime_cache.state.last_warning = -runtime_cache.WARNING_EVERY
    yield
    invalidate()
    runtime_cache.state.backend_ok = None


@pytest.fixture
def finance_active(db, finance_domain, finance_tenant, settings):
    settings.RUNTIME_CONFIG_TTL = 30
    make_finance_tenant()
    domain_pack = store_domain(finance_domain)
    tenant_pack = store_tenant(finance_tenant)
    activate_direct(FINANCE, domain_pack, tenant_pack)
    return domain_pack, tenant_pack


def test_bump__twice__shared_generation_changes_each_time(db):
    bump_generation()
    first = cache.get(GENERATION_KEY)
    bump_generation()
    second = cache.get(GENERATION_KEY)
    assert first and second and first != second


def test_generation__changed_by_another_process__entries_cleared_after_check(
    finance_active, settings
):
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 0
    first = get_effective_config(FINANCE)
    assert get_effective_config(FINANCE) is first
    cache.set(GENERATION_KEY, "written-by-another-process", timeout=None)
    assert get_effective_config(FINANCE) is not first


def test_generation__changed_within_check_interval__not_read_yet(finance_active, settings):
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 30
    first = get_effective_config(FINANCE)
    cache.set(GENERATION_KEY, "written-by-another-process", timeout=None)
    assert get_effective_config(FINANCE) is first


def test_ttl__expired__reloaded(finance_active, settings):
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 30
    settings.RUNTIME_CONFIG_TTL = 0.05
    first = get_effective_config(FINANCE)
    # Reloaded once the TTL has run out: wait for that, however slow the machine.
    wait_until(lambda: get_effective_config(FINANCE) is not first, timeout=10, interval=0.01)


def test_backend_down__config_still_served_and_warning_logged(finance_active, settings, caplog):
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 0
    settings.CACHES = DEAD_REDIS
    with caplog.at_level(logging.WARNING, logger="runtime_config.cache"):
        config = get_effective_config(FINANCE)
        runtime_cache.state.next_check = 0.0  # force a second check: still one warning
        assert get_effective_config(FINANCE) is config
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1
    assert config.domain_pack_version == "v3.2"


def test_backend_down__checks_back_off__cached_calls_cost_nothing(
    finance_active, settings, django_assert_num_queries
):
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 0
    settings.CACHES = DEAD_REDIS
    config = get_effective_config(FINANCE)
    assert runtime_cache.state.next_check >= time.monotonic() + runtime_cache.DOWN_BACKOFF - 1
    with django_assert_num_queries(0):
        for _ in range(100):
            assert get_effective_config(FINANCE) is config


def test_backend_down__bump__no_error_and_local_entries_cleared(finance_active, settings, caplog):
    settings.CACHES = DEAD_REDIS
    config = get_effective_config(FINANCE)
    with caplog.at_level(logging.WARNING, logger="runtime_config.cache"):
        bump_generation()
    assert any("could not be bumped" in r.getMessage() for r in caplog.records)
    assert get_effective_config(FINANCE) is not config


def test_backend_down__healthz__degraded(finance_active, settings, client):
    settings.CACHES = DEAD_REDIS
    assert runtime_health()["cache"] == "down"
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["runtime"] == "degraded"
    assert body["cache"] == "down"


def test_healthz__backend_up__runtime_ok(db, client):
    body = client.get("/healthz").json()
    assert body["runtime"] == "ok"
    assert body["cache"] == "ok"
    assert body["integrity_failures"] >= 0
