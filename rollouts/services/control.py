"""What operators and monitors do to a running rollout (DESIGN §16): pause, resume, advance
(skip the rest of the bake time), abort, and the alarm a monitor raises. Each is one transaction
on the locked rollout row, with its `rollout.*` event."""

from django.db import transaction
from django.utils import timezone

from onboarding.errors import Conflict, finding
from onboarding.principal import Principal
from rollouts.models import ACTIVE_STATUSES, OPEN_STATUSES, Rollout, RolloutStatus
from rollouts.selectors import rollout_for_write
from rollouts.services.records import rollout_event
from rollouts.services.waves import enqueue_step, finish, halt, lock_rollout, restore


def _not_now(rollout: Rollout, action: str, allowed) -> Conflict:
    code = "rollout_finished" if rollout.status not in OPEN_STATUSES else "invalid_transition"
    return Conflict(
        f"Cannot {action} a rollout that is {rollout.status}.",
        code=code,
        errors=[
            finding(
                code,
                "",
                f"Rollout is {rollout.status}; {action} needs "
                f"{' or '.join(str(s) for s in allowed)}.",
            )
        ],
        extra={"rollout_status": rollout.status},
    )


def _locked(principal: Principal, rollout_id, action: str, allowed) -> Rollout:
    rollout_for_write(principal=principal, rollout_id=rollout_id)  # 404 / 403 first
    rollout = lock_rollout(rollout_id)
    if rollout.status not in allowed:
        raise _not_now(rollout, action, allowed)
    return rollout


def rollout_pause(*, principal: Principal, rollout_id) -> Rollout:
    with transaction.atomic():
        rollout = _locked(principal, rollout_id, "pause", ACTIVE_STATUSES)
        rollout.status = RolloutStatus.PAUSED
        rollout.save(update_fields=["status", "updated_at"])
        rollout_event(rollout, "paused", principal.username, "paused")
    return rollout


def rollout_resume(*, principal: Principal, rollout_id) -> Rollout:
    """The next wave stays due when it was: at once if its bake time is over."""
    with transaction.atomic():
        rollout = _locked(principal, rollout_id, "resume", (RolloutStatus.PAUSED,))
        now = timezone.now()
        if rollout.next_wave_at is None or rollout.next_wave_at <= now:
            rollout.status, rollout.next_wave_at = RolloutStatus.RUNNING, now
        else:
            rollout.status = RolloutStatus.BAKING
        rollout.save(update_fields=["status", "next_wave_at", "updated_at"])
        rollout_event(rollout, "resumed", principal.username, "resumed")
        enqueue_step(rollout)
    return rollout


def rollout_advance(*, principal: Principal, rollout_id) -> Rollout:
    """Skip the rest of the bake time: the next wave is due now."""
    with transaction.atomic():
        rollout = _locked(principal, rollout_id, "advance", ACTIVE_STATUSES)
        rollout.status, rollout.next_wave_at = RolloutStatus.RUNNING, timezone.now()
        rollout.save(update_fields=["status", "next_wave_at", "updated_at"])
        rollout_event(rollout, "advanced", principal.username, "next wave due now")
        enqueue_step(rollout)
    return rollout


def rollout_abort(*, principal: Principal, rollout_id, reason: str = "") -> Rollout:
    """Stop for good. Moved tenants go back to their previous revision when the plan has
    auto_rollback (ROLLED_BACK), else stay (CANCELLED). A rollout awaiting approval is ended
    through its change request (reject or cancel), which has its own four-eyes rules."""
    with transaction.atomic():
        allowed = (*ACTIVE_STATUSES, RolloutStatus.PAUSED)
        rollout_for_write(principal=principal, rollout_id=rollout_id)
        rollout = lock_rollout(rollout_id)
        if rollout.status == RolloutStatus.PENDING_APPROVAL:
            raise Conflict(
                "This rollout awaits approval: reject or cancel its change request instead.",
                code="rollout_pending_approval",
                errors=[
                    finding(
                        "rollout_pending_approval",
                        "",
                        f"Change request {rollout.change_request_id}.",
                    )
                ],
            )
        if rollout.status not in allowed:
            raise _not_now(rollout, "abort", allowed)
        why = f"aborted by {principal.username}" + (f": {reason}" if reason else "")
        rollout.status_reason = why[:2000]
        rollout_event(rollout, "aborted", principal.username, why, reason=reason)
        if rollout.auto_rollback:
            restore(rollout, principal.username)
            finish(rollout, RolloutStatus.ROLLED_BACK, principal.username, why)
        else:
            finish(rollout, RolloutStatus.CANCELLED, principal.username, why)
    return rollout


def rollout_alarm(*, principal: Principal, rollout_id, reason: str) -> Rollout:
    """A monitor's alarm: recorded in the readings, then the rollout halts (and rolls back,
    unless the plan says otherwise). An alarm on a finished rollout is refused (409)."""
    with transaction.atomic():
        allowed = (*ACTIVE_STATUSES, RolloutStatus.PAUSED)
        rollout = _locked(principal, rollout_id, "raise an alarm on", allowed)
        readings = dict(rollout.readings or {})
        alarms = list(readings.get("alarms", []))
        alarms.append(
            {"reason": reason, "actor": principal.username, "at": timezone.now().isoformat()}
        )
        readings["alarms"] = alarms[-50:]
        rollout.readings = readings
        rollout.save(update_fields=["readings", "updated_at"])
        rollout_event(rollout, "alarm", principal.username, f"alarm: {reason}", reason=reason)
        halt(rollout, f"alarm: {reason}", principal.username)
    return rollout
