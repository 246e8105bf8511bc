"""Push propagation (DESIGN §14): with the poll interval set to 30 s in the other process, only the
push channel can deliver a change within the deadline. PostgreSQL LISTEN/NOTIFY, and Redis
pub/sub when CACHE_URL is Redis; a killed listener connection comes back and drops everything."""

import os

import pytest
from django.db import connection

from runtime_config.runtime import invalidate
from runtime_config.watch import Watcher
from tenants.services import tenant_set_status
from tests.runtime_config.runtime_support import (
    FINANCE,
    SETUP,
    child_database_env,
    make_finance_tenant,
    store_domain,
    store_tenant,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
# Far below the 30 s poll of the watching process: only a push arrives in time.
PUSH_DEADLINE = 1.0
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture(autouse=True)
def cached_runtime(settings):
    settings.RUNTIME_CONFIG_TTL = 30
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 1
    invalidate()
    yield
    invalidate()


def push_only_env(**extra) -> dict:
    env = child_database_env()
    if env is None:
        pytest.skip("the test database is in memory; set TEST_DB_NAME to share it")
    env["RUNTIME_CONFIG_CHECK_INTERVAL"] = "30"
    env.update(extra)
    return env


def setup_finance(finance_domain, finance_tenant):
    from governance.services import config_activate

    make_finance_tenant()
    store_domain(finance_domain, "v3.2")
    store_domain(finance_domain, "v3.3")
    store_tenant(finance_tenant)
    config_activate(
        principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.2", tenant_pack_version="v1.4"
    )


def exercise(child) -> None:
    """Activation, rollback, suspension and reactivation, each seen by the other process."""
    from governance.services import config_activate, config_rollback

    assert child.wait_for("v3.2/v1.4/1", 10)["seen"] == "v3.2/v1.4/1"
    config_activate(principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.3")
    assert child.wait_for("v3.3/v1.4/2", PUSH_DEADLINE)["seen"] == "v3.3/v1.4/2"
    config_rollback(principal=SETUP, tenant_id=FINANCE)
    assert child.wait_for("v3.2/v1.4/3", PUSH_DEADLINE)["seen"] == "v3.2/v1.4/3"
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    assert child.wait_for("tenant_suspended", PUSH_DEADLINE)["seen"] == "tenant_suspended"
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="ACTIVE")
    assert child.wait_for("v3.2/v1.4/3", PUSH_DEADLINE)["seen"] == "v3.2/v1.4/3"


@pytest.mark.postgres
def test_postgres_notify__activation_rollback_suspension__seen_without_poll(
    finance_domain, finance_tenant
):
    setup_finance(finance_domain, finance_tenant)
    with Watcher(FINANCE, push_only_env()) as child:
        exercise(child)


def _listener_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'runtime-config-listener'"
        )
        return [row[0] for row in cursor.fetchall()]


def _wait_for(predicate, timeout: float = 10.0):
    return wait_until(predicate, timeout=timeout, interval=0.05)


@pytest.mark.postgres
def test_postgres_listener__connection_terminated__reconnects_and_drops_everything(
    finance_domain, finance_tenant
):
    from governance.services import config_activate

    setup_finance(finance_domain, finance_tenant)
    with Watcher(FINANCE, push_only_env()) as child:
        assert child.wait_for("v3.2/v1.4/1", 10)["seen"] == "v3.2/v1.4/1"
        (backend,) = _wait_for(_listener_backends)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        # Published while the listener is away: lost as a message, recovered by the gap rule.
        config_activate(principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.3")
        assert child.wait_for("v3.3/v1.4/2", 5)["seen"] == "v3.3/v1.4/2"
        new = _wait_for(lambda: [pid for pid in _listener_backends() if pid != backend])
        assert new and backend not in _listener_backends()
        # And the new connection listens: the next change arrives by push.
        config_activate(principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.2")
        assert child.wait_for("v3.2/v1.4/3", PUSH_DEADLINE)["seen"] == "v3.2/v1.4/3"


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return client


@pytest.fixture
def redis_cache(settings):
    client = _redis_or_skip()
    settings.CACHE_URL = REDIS_URL
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    yield client
    client.close()


def test_redis_pubsub__activation_rollback_suspension__seen_without_poll(
    redis_cache, finance_domain, finance_tenant
):
    setup_finance(finance_domain, finance_tenant)
    with Watcher(FINANCE, push_only_env(CACHE_URL=REDIS_URL)) as child:
        exercise(child)


def test_redis_listener__connection_killed__reconnects_and_drops_everything(
    redis_cache, finance_domain, finance_tenant
):
    from governance.services import config_activate

    setup_finance(finance_domain, finance_tenant)
    with Watcher(FINANCE, push_only_env(CACHE_URL=REDIS_URL)) as child:
        assert child.wait_for("v3.2/v1.4/1", 10)["seen"] == "v3.2/v1.4/1"
        name = f"runtime-config-listener-{child.process.pid}"

        def listener_ids():
            return [
                c["id"]
                for c in redis_cache.client_list()
                if c.get("name") == name and c.get("sub", "0") != "0"
            ]

        (client_id,) = _wait_for(listener_ids)
        redis_cache.client_kill_filter(_id=client_id)
        config_activate(principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.3")
        assert child.wait_for("v3.3/v1.4/2", 5)["seen"] == "v3.3/v1.4/2"
        assert _wait_for(lambda: [i for i in listener_ids() if i != client_id])
        config_activate(principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.2")
        assert child.wait_for("v3.2/v1.4/3", PUSH_DEADLINE)["seen"] == "v3.2/v1.4/3"
