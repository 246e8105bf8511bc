"""`python manage.py run_worker` runs rollouts as real processes on the PostgreSQL test database:
two workers complete a three-wave rollout applying every wave once, and a worker killed in the
middle of a wave (blocked on a tenant row another session holds) leaves nothing half-done; a
restarted worker resumes and applies no wave twice."""

import signal
import threading
import time

import psycopg
import pytest
from django.db import connection, connections

from audit.models import AuditEvent
from onboarding.errors import Conflict
from rollouts.models import Rollout, RolloutStatus, RolloutWave
from rollouts.services import rollout_create
from runtime_config.models import ActivationHistory, TenantActiveConfig
from tests.rollouts.conftest import DOMAIN, make_fleet
from tests.runtime_config.activation_helpers import SETUP
from tests.webhooks.test_worker import Workers, worker_env  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

WAVES = [{"tenants": ["T01"]}, {"tenants": ["T02", "T03", "T04"]}, {"tenants": ["T05", "T06"]}]


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def workers(worker_env):  # noqa: F811
    worker_env.update(ROLLOUT_RECOVERY_GRACE_SECONDS="0.5", WORKER_RECOVERY_INTERVAL="0.3")
    pool = Workers(worker_env)
    yield pool
    pool.stop_all()


def _start(bake_seconds: int) -> Rollout:
    outcome = rollout_create(
        principal=SETUP,
        domain=DOMAIN,
        domain_pack_version="v3.3",
        tenants=[f"T0{n}" for n in range(1, 7)],
        waves=WAVES,
        bake_seconds=bake_seconds,
    )
    return outcome.rollout


def _status(rollout: Rollout) -> str:
    return Rollout.objects.values_list("status", flat=True).get(pk=rollout.pk)


def _assert_each_tenant_moved_once(rollout: Rollout) -> None:
    per_tenant = {}
    for tenant_id in ActivationHistory.objects.filter(kind="rollout").values_list(
        "tenant_id", flat=True
    ):
        per_tenant[tenant_id] = per_tenant.get(tenant_id, 0) + 1
    assert per_tenant == {f"T0{n}": 1 for n in range(1, 7)}
    assert set(TenantActiveConfig.objects.values_list("revision", flat=True)) == {2}
    assert set(RolloutWave.objects.filter(rollout=rollout).values_list("status", flat=True)) == {
        "APPLIED"
    }
    audited = AuditEvent.objects.filter(
        action="config.activated", details__rollout_id=str(rollout.pk)
    )
    assert audited.count() == 6
    assert (
        AuditEvent.objects.filter(object_id=str(rollout.pk), action="rollout.wave_applied").count()
        == 3
    )


def test_run_worker__two_workers__three_wave_rollout_completes_each_wave_once(
    workers, finance_domain, finance_tenant
):
    make_fleet(finance_domain, finance_tenant, 6)
    for _ in range(2):
        workers.start(concurrency=1, interval=0.05)
    rollout = _start(bake_seconds=1)
    assert wait_until(lambda: _status(rollout) == RolloutStatus.COMPLETED, 60), _status(rollout)
    _assert_each_tenant_moved_once(rollout)


def _waves(rollout: Rollout) -> dict[int, str]:
    return dict(RolloutWave.objects.filter(rollout=rollout).values_list("index", "status"))


def _waiting_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def test_run_worker__killed_mid_wave__restarted_resumes_no_wave_applied_twice(
    workers, finance_domain, finance_tenant
):
    make_fleet(finance_domain, finance_tenant, 6)
    settings_dict = connection.settings_dict
    # Another session holds T04's active-config row: the worker applying wave 2 locks the tenants
    # and the rows of T02 and T03, then waits.
    blocker = psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
    )
    try:
        blocker.execute("SELECT 1 FROM tenant_active_config WHERE tenant_id = 'T04' FOR UPDATE")
        victim = workers.start(concurrency=1, interval=0.05)
        rollout = _start(bake_seconds=0)
        # Wave 1 committed, and a session waits on a lock (the step applying wave 2; the recovery
        # thread's step may wait behind it on the rollout row).
        assert wait_until(lambda: _waves(rollout)[0] == "APPLIED" and _waiting_backends(), 120)
        assert _waves(rollout) == {0: "APPLIED", 1: "PENDING", 2: "PENDING"}
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        # The dead worker's session would notice only when it next talks to its client: end it.
        for pid in _waiting_backends():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert wait_until(lambda: not _waiting_backends(), 10)
    finally:
        blocker.rollback()
        blocker.close()
    # Nothing of the interrupted wave was written.
    assert ActivationHistory.objects.filter(kind="rollout").count() == 1
    assert TenantActiveConfig.objects.get(pk="T02").revision == 1
    assert _status(rollout) == RolloutStatus.BAKING or _status(rollout) == RolloutStatus.RUNNING
    workers.start(concurrency=1, interval=0.05)
    assert wait_until(lambda: _status(rollout) == RolloutStatus.COMPLETED, 60), _status(rollout)
    _assert_each_tenant_moved_once(rollout)


def test_rollout_create__two_plans_racing_for_one_tenant__exactly_one_holds_it(
    finance_domain, finance_tenant
):
    """The check reads, the partial unique index decides: two plans naming T03 at the same time,
    one is created and the other is 409 tenant_in_rollout with nothing written."""
    make_fleet(finance_domain, finance_tenant, 4)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def create(tenants: list[str]) -> None:
        try:
            barrier.wait(timeout=10)
            rollout_create(
                principal=SETUP,
                domain=DOMAIN,
                domain_pack_version="v3.3",
                tenants=tenants,
                waves=[{"percent": 100}],
                bake_seconds=3600,
            )
            results.append("created")
        except Conflict as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=create, args=(ids,))
        for ids in (["T01", "T02", "T03"], ["T03", "T04"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["created", "tenant_in_rollout"]
    assert Rollout.objects.count() == 1
