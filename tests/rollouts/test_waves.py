"""The wave step (rollouts.services.waves) run by the worker's own loop (`drain`): each wave moves
its tenants in one transaction, each with its own revision, audit row naming the rollout and
webhook event; failing tenants are skipped with their reason; guards and alarms halt and
restore."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from onboarding.worker import drain
from rollouts.models import Rollout, RolloutStatus, RolloutTenant, RolloutWave
from rollouts.services import rollout_step
from runtime_config.models import ActivationHistory, TenantActiveConfig
from tenants.services import tenant_set_status
from tests.api.conftest import assert_problem, send
from tests.db_state import db_state
from tests.rollouts.conftest import ROLLOUTS, plan
from tests.runtime_config.activation_helpers import SETUP
from tests.webhooks.conftest import subscribe
from webhooks.models import WebhookEvent

# The worker's task loop (`drain`) commits and checks its connection: real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

THREE_WAVES = [
    {"tenants": ["T01"]},
    {"tenants": ["T02", "T03"]},
    {"tenants": ["T04", "T05", "T06"]},
]


def _create(client, body) -> Rollout:
    response = send(client, "POST", ROLLOUTS, body)
    assert response.status_code == 201, response.content
    return Rollout.objects.get(pk=response.json()["id"])


def _versions() -> dict[str, tuple[str, int]]:
    return {
        config.tenant_id: (config.domain_pack.version, config.revision)
        for config in TenantActiveConfig.objects.select_related("domain_pack")
    }


def _bake_over(rollout: Rollout) -> None:
    """Time passes: the bake is over and the queued step is due."""
    from django_tasks_db.models import DBTaskResult

    past = timezone.now() - timedelta(seconds=1)
    Rollout.objects.filter(pk=rollout.pk).update(next_wave_at=past)
    DBTaskResult.objects.filter(queue_name="rollouts", status="READY").update(run_after=past)


def test_rollout__three_waves_with_bake__worker_completes_each_tenant_own_revision_audit_event(
    fleet, admin
):
    subscribe("https://hooks.example.com/in")
    rollout = _create(admin.client, plan(fleet, waves=THREE_WAVES, bake_seconds=600))
    drain(queues=("rollouts",))
    rollout.refresh_from_db()
    assert rollout.status == RolloutStatus.BAKING
    assert _versions()["T01"] == ("v3.3", 2) and _versions()["T02"] == ("v3.2", 1)
    drain(queues=("rollouts",))  # the bake is not over: nothing moves
    assert _versions()["T02"] == ("v3.2", 1)
    for _ in range(2):
        _bake_over(rollout)
        drain(queues=("rollouts",))
    rollout.refresh_from_db()
    assert rollout.status == RolloutStatus.COMPLETED
    assert set(_versions().values()) == {("v3.3", 2)}
    assert list(RolloutWave.objects.filter(rollout=rollout).values_list("status", "moved")) == [
        ("APPLIED", 1),
        ("APPLIED", 2),
        ("APPLIED", 3),
    ]
    rows = AuditEvent.objects.filter(action="config.activated", details__rollout_id=str(rollout.pk))
    assert sorted(rows.values_list("tenant_id", flat=True)) == fleet
    events = WebhookEvent.objects.filter(type="config.activated")
    assert (
        sorted(e.tenant_id for e in events if e.data["details"].get("kind") == "rollout") == fleet
    )
    assert ActivationHistory.objects.filter(kind="rollout").count() == 6
    actions = list(
        AuditEvent.objects.filter(object_id=str(rollout.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "rollout.created",
        "rollout.started",
        "rollout.wave_applied",
        "rollout.wave_applied",
        "rollout.wave_applied",
        "rollout.completed",
    ]
    assert WebhookEvent.objects.filter(type="rollout.completed").count() == 1
    assert not RolloutTenant.objects.filter(holding=True).exists()


def test_rollout__suspended_tenant__skipped_with_reason_others_move(fleet, admin):
    tenant_set_status(principal=SETUP, tenant_id="T02", status="SUSPENDED")
    rollout = _create(admin.client, plan(fleet, waves=THREE_WAVES, max_skipped=1))
    for _ in range(3):
        drain(queues=("rollouts",))
    rollout.refresh_from_db()
    assert rollout.status == RolloutStatus.COMPLETED
    skipped = RolloutTenant.objects.get(rollout=rollout, tenant_id="T02")
    assert skipped.status == "SKIPPED" and skipped.skip_reason.startswith("tenant_suspended")
    assert _versions()["T02"] == ("v3.2", 1)
    assert _versions()["T03"] == ("v3.3", 2)


def test_rollout__more_skips_than_tolerated__halts_and_restores_moved(fleet, admin):
    tenant_set_status(principal=SETUP, tenant_id="T02", status="SUSPENDED")
    tenant_set_status(principal=SETUP, tenant_id="T03", status="SUSPENDED")
    rollout = _create(admin.client, plan(fleet, waves=THREE_WAVES, max_skipped=1))
    for _ in range(3):
        drain(queues=("rollouts",))
    rollout.refresh_from_db()
    assert rollout.status == RolloutStatus.ROLLED_BACK
    assert rollout.status_reason.startswith("max_skipped")
    assert _versions()["T01"] == ("v3.2", 3)  # moved in wave 1, restored: a new revision
    assert _versions()["T04"] == ("v3.2", 1)  # wave 3 never ran
    restored = RolloutTenant.objects.get(rollout=rollout, tenant_id="T01")
    assert (restored.status, restored.revision_after, restored.restored_revision) == (
        "RESTORED",
        2,
        3,
    )


def test_rollout_alarm__mid_rollout__halts_and_restores_every_moved_tenant(fleet, admin):
    rollout = _create(admin.client, plan(fleet, waves=THREE_WAVES, bake_seconds=600))
    drain(queues=("rollouts",))
    _bake_over(rollout)
    drain(queues=("rollouts",))
    assert {t: v for t, v in _versions().items() if v[0] == "v3.3"}.keys() == {"T01", "T02", "T03"}
    response = send(admin.client, "POST", f"{ROLLOUTS}/{rollout.pk}/alarm", {"reason": "5xx up"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ROLLED_BACK"
    assert body["readings"]["alarms"][0]["reason"] == "5xx up"
    assert {version for version, _ in _versions().values()} == {"v3.2"}
    assert RolloutTenant.objects.filter(rollout=rollout, status="RESTORED").count() == 3
    rolled_back = AuditEvent.objects.filter(
        action="config.activated", details__rollout_id=str(rollout.pk), details__kind="rollback"
    )
    assert rolled_back.count() == 3
    assert WebhookEvent.objects.filter(type="config.rolled_back").count() == 0  # no subscriber
    _bake_over(rollout)
    drain(queues=("rollouts",))  # the queued step finds the rollout finished
    assert {version for version, _ in _versions().values()} == {"v3.2"}
    # An alarm on a finished rollout is refused and writes nothing.
    before = db_state()
    again = send(admin.client, "POST", f"{ROLLOUTS}/{rollout.pk}/alarm", {"reason": "again"})
    assert_problem(again, 409, "rollout_finished")
    assert db_state() == before


def test_rollout_alarm__auto_rollback_false__halted_moved_tenants_stay(fleet, admin):
    rollout = _create(
        admin.client, plan(fleet, waves=THREE_WAVES, auto_rollback=False, bake_seconds=600)
    )
    drain(queues=("rollouts",))
    response = send(admin.client, "POST", f"{ROLLOUTS}/{rollout.pk}/alarm", {"reason": "slow"})
    assert response.json()["status"] == "HALTED"
    assert _versions()["T01"] == ("v3.3", 2)
    assert not RolloutTenant.objects.filter(holding=True).exists()


def test_rollout_alarm__missing_reason__400_nothing_written(fleet, admin):
    rollout = _create(admin.client, plan(fleet, waves=THREE_WAVES))
    before = db_state()
    assert_problem(
        send(admin.client, "POST", f"{ROLLOUTS}/{rollout.pk}/alarm", {}), 400, "missing_required"
    )
    assert db_state() == before


def test_rollout_controls__pause_resume_advance_abort(fleet, admin, viewer):
    rollout = _create(admin.client, plan(fleet, waves=THREE_WAVES, bake_seconds=3600))
    drain(queues=("rollouts",))
    url = f"{ROLLOUTS}/{rollout.pk}"
    assert_problem(send(viewer.client, "POST", f"{url}/pause", {}), 403, "admin_required")
    assert send(admin.client, "POST", f"{url}/pause", {}).json()["status"] == "PAUSED"
    assert_problem(send(admin.client, "POST", f"{url}/advance", {}), 409, "invalid_transition")
    assert send(admin.client, "POST", f"{url}/resume", {}).json()["status"] == "BAKING"
    assert send(admin.client, "POST", f"{url}/advance", {}).json()["status"] == "RUNNING"
    drain(queues=("rollouts",))
    assert _versions()["T03"] == ("v3.3", 2)
    aborted = send(admin.client, "POST", f"{url}/abort", {"reason": "enough"}).json()
    assert aborted["status"] == "ROLLED_BACK"
    assert {version for version, _ in _versions().values()} == {"v3.2"}
    assert_problem(send(admin.client, "POST", f"{url}/pause", {}), 409, "rollout_finished")


def test_rollout_guard__divergence_over_limit__halts_after_first_wave(fleet, admin, finance_domain):
    from tests.runtime_config.activation_helpers import domain_pack

    # Every sample the packs carry decides CRITICAL under v3.4: 100 % of decisions diverge.
    changed = {**finance_domain}
    changed["severityRules"] = [
        {"condition": "exceptionType != ''", "severity": "CRITICAL"},
        *finance_domain["severityRules"],
    ]
    domain_pack(changed, "v3.4")
    body = plan(fleet, waves=THREE_WAVES, guards={"max_divergence_pct": 1})
    body["domain_pack_version"] = "v3.4"
    rollout = _create(admin.client, body)
    drain(queues=("rollouts",))
    rollout.refresh_from_db()
    assert rollout.readings["divergence_pct"] > 1, rollout.readings
    assert rollout.status == RolloutStatus.ROLLED_BACK
    assert rollout.status_reason.startswith("max_divergence_pct")
    assert _versions()["T01"] == ("v3.2", 3)


def test_rollout_step__run_twice__second_applies_nothing(fleet, admin):
    rollout = _create(admin.client, plan(fleet, waves=THREE_WAVES, bake_seconds=0))
    assert rollout_step(rollout_id=str(rollout.pk)) == "applied"
    Rollout.objects.filter(pk=rollout.pk).update(status=RolloutStatus.RUNNING)
    RolloutWave.objects.filter(rollout=rollout, index__gt=0).update(status="APPLIED")
    assert rollout_step(rollout_id=str(rollout.pk)) == "completed"
    assert ActivationHistory.objects.filter(kind="rollout").count() == 1


@pytest.mark.parametrize("path", ["pause", "resume", "advance", "abort", "alarm"])
def test_rollout_control__unknown_rollout__404(db, admin, path):
    response = send(
        admin.client,
        "POST",
        f"{ROLLOUTS}/00000000-0000-0000-0000-000000000000/{path}",
        {"reason": "x"} if path in ("alarm", "abort") else {},
    )
    assert_problem(response, 404, "rollout_not_found")
