"""Real serving processes (gunicorn) on the test database, with the poll interval at 30 s so that
only push can deliver within the deadline: a revoked token, a removed role binding and a
deactivated user are refused by every process; each process reports its served revision."""

import time

import pytest

from bench.common import Client, Gunicorn
from identity.models import ApiToken
from identity.tokens import digest_of
from runtime_config.runtime import invalidate
from tests.conftest import make_actor
from tests.runtime_config.runtime_support import (
    FINANCE,
    SETUP,
    child_database_env,
    make_finance_tenant,
    store_domain,
    store_tenant,
)
from tests.waiting import holds, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PUSH_DEADLINE = 1.0
URL = f"/runtime/tenants/{FINANCE}/config"


@pytest.fixture(autouse=True)
def cached_runtime(settings):
    settings.RUNTIME_CONFIG_TTL = 30
    invalidate()
    yield
    invalidate()


def serving_env(**extra) -> dict:
    env = child_database_env()
    env.update(RUNTIME_CONFIG_CHECK_INTERVAL="30", DEBUG="false", **extra)
    return env


@pytest.fixture
def finance_active(finance_domain, finance_tenant):
    from governance.services import config_activate

    tenant = make_finance_tenant()
    store_domain(finance_domain, "v3.2")
    store_domain(finance_domain, "v3.3")
    store_tenant(finance_tenant)
    config_activate(
        principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.2", tenant_pack_version="v1.4"
    )
    return tenant


@pytest.fixture
def two_processes():
    env = serving_env()
    with Gunicorn(env, workers=1) as first, Gunicorn(env, workers=1) as second:
        yield first, second


def refused_everywhere(servers, token: str, statuses: set[int]) -> float | None:
    """Seconds until every server refuses the token, or None past the deadline."""
    started = time.monotonic()
    pending = list(servers)

    def refused() -> bool:
        pending[:] = [s for s in pending if Client(s.base, token).get(URL).status not in statuses]
        return not pending

    return (
        time.monotonic() - started if holds(refused, timeout=PUSH_DEADLINE, interval=0.01) else None
    )


def warm(servers, token: str) -> None:
    for server in servers:
        for _ in range(2):
            assert Client(server.base, token).get(URL).status == 200


def test_token_deleted__every_process_refuses_within_deadline(finance_active, two_processes):
    reader = make_actor("runtime-reader", "VIEWER", finance_active)
    warm(two_processes, reader.token)
    ApiToken.objects.filter(digest=digest_of(reader.token)).delete()
    assert refused_everywhere(two_processes, reader.token, {401}) is not None


def test_role_binding_removed__every_process_refuses_within_deadline(finance_active, two_processes):
    reader = make_actor("runtime-reader", "VIEWER", finance_active)
    warm(two_processes, reader.token)
    reader.user.role_bindings.all().delete()
    assert refused_everywhere(two_processes, reader.token, {403, 404}) is not None


def test_user_deactivated__every_process_refuses_within_deadline(finance_active, two_processes):
    reader = make_actor("runtime-reader", "VIEWER", finance_active)
    warm(two_processes, reader.token)
    reader.user.is_active = False
    reader.user.save()
    assert refused_everywhere(two_processes, reader.token, {401}) is not None


def test_token_revoked_by_service__every_process_refuses_within_deadline(
    finance_active, two_processes, admin
):
    from identity.services import token_revoke

    reader = make_actor("runtime-reader", "VIEWER", finance_active)
    warm(two_processes, reader.token)
    token = ApiToken.objects.get(digest=digest_of(reader.token))
    token_revoke(actor=admin.principal, token_id=token.pk)
    assert refused_everywhere(two_processes, reader.token, {401}) is not None


def test_user_deactivated_by_service__every_process_refuses_within_deadline(
    finance_active, two_processes, admin
):
    from identity.services import user_deactivate

    reader = make_actor("runtime-reader", "VIEWER", finance_active)
    warm(two_processes, reader.token)
    user_deactivate(actor=admin.principal, username="runtime-reader")
    assert refused_everywhere(two_processes, reader.token, {401}) is not None


def test_activation__every_process_serves_new_revision_within_deadline(
    finance_active, two_processes
):
    from governance.services import config_activate

    reader = make_actor("runtime-reader", "VIEWER", finance_active)
    warm(two_processes, reader.token)
    config_activate(principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.3")
    started = time.monotonic()
    for server in two_processes:
        client = Client(server.base, reader.token)
        left = PUSH_DEADLINE - (time.monotonic() - started)
        wait_until(
            lambda c=client: c.get(URL).json()["revision"] == 2,
            timeout=max(left, 0.001),
            interval=0.01,
        )


def test_worker_sigterm__deregisters_at_exit__not_listed_as_behind(finance_active):
    """Issue 25 item 6: a gunicorn worker that exits on SIGTERM (as --max-requests recycles
    them) stayed listed as behind until its 30 s silence ran out. It deregisters at exit: its
    rows are gone at once, long before the silence could have dropped it."""
    import os
    import signal

    from runtime_config.models import RuntimeProcess
    from runtime_config.selectors import convergence_get

    reader = make_actor("runtime-reader", "VIEWER", finance_active)
    env = serving_env(RUNTIME_HEARTBEAT_INTERVAL="0.3")
    with Gunicorn(env, workers=1) as server:
        client = Client(server.base, reader.token)
        assert client.get(URL).status == 200
        (worker,) = server.worker_pids()

        def reported() -> bool:
            # Requests keep it served: the listener's first generation read empties the cache.
            assert client.get(URL).status == 200
            body = convergence_get(principal=SETUP, tenant_id=FINANCE)
            return [p["pid"] for p in body["processes"]] == [worker]

        wait_until(reported, timeout=30, interval=0.1, message="the worker reporting the tenant")
        os.kill(worker, signal.SIGTERM)
        # Gone well within the 30 s silence: deregistered at exit, not aged out.
        wait_until(
            lambda: not RuntimeProcess.objects.filter(pid=worker).exists(),
            timeout=10,
            message="the exited worker's row removed",
        )
        body = convergence_get(principal=SETUP, tenant_id=FINANCE)
        assert worker not in [p["pid"] for p in body["processes"]]
