"""Every `rollout.*` event through the real services and the worker's own loop, for the
webhook catalogue test (tests/webhooks/test_delivery.py)."""

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from onboarding.worker import drain
from rollouts.models import Rollout, RolloutStatus
from rollouts.services import (
    rollout_abort,
    rollout_advance,
    rollout_alarm,
    rollout_create,
    rollout_pause,
    rollout_resume,
)
from tests.rollouts.conftest import DOMAIN, make_fleet
from tests.runtime_config.activation_helpers import SETUP


def _create(tenants: list[str], *, auto_rollback: bool, bake_seconds: int = 600) -> Rollout:
    outcome = rollout_create(
        principal=SETUP,
        domain=DOMAIN,
        domain_pack_version="v3.3",
        tenants=tenants,
        waves=[{"tenants": tenants[:1]}, {"tenants": tenants[1:]}],
        bake_seconds=bake_seconds,
        auto_rollback=auto_rollback,
    )
    return Rollout.objects.get(pk=outcome.rollout.pk)


def _step() -> None:
    past = timezone.now() - timedelta(seconds=1)
    DBTaskResult.objects.filter(queue_name="rollouts", status="READY").update(run_after=past)
    drain(queues=("rollouts",))


def every_rollout_event(finance_domain, finance_tenant) -> None:
    fleet = make_fleet(finance_domain, finance_tenant, 6)
    # created, started, wave_applied, paused, resumed, advanced, wave_applied, completed
    done = _create(fleet[:2], auto_rollback=False)
    _step()
    rollout_pause(principal=SETUP, rollout_id=done.pk)
    rollout_resume(principal=SETUP, rollout_id=done.pk)
    rollout_advance(principal=SETUP, rollout_id=done.pk)
    _step()
    done.refresh_from_db()
    assert done.status == RolloutStatus.COMPLETED, done.status_reason
    # alarm, halted, rolled_back
    alarmed = _create(fleet[2:4], auto_rollback=True)
    _step()
    rollout_alarm(principal=SETUP, rollout_id=alarmed.pk, reason="error rate")
    alarmed.refresh_from_db()
    assert alarmed.status == RolloutStatus.ROLLED_BACK
    # aborted, cancelled
    aborted = _create(fleet[4:], auto_rollback=False)
    rollout_abort(principal=SETUP, rollout_id=aborted.pk, reason="not today")
    aborted.refresh_from_db()
    assert aborted.status == RolloutStatus.CANCELLED
