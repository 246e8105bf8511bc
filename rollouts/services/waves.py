"""The rollout state machine the worker runs (DESIGN §16): one task per step on the `rollouts`
queue (django-tasks, the worker's task library). All state is in the database, so a worker that
dies loses nothing: the step's transaction rolls back, and the recovery step hands the overdue
rollout to a live worker.

Exactly once: a step locks the rollout row (FOR UPDATE) and applies its next PENDING wave in the
same transaction that marks the wave APPLIED (a conditional update, `status = PENDING`), so two
workers running the same rollout serialise on the row and the second finds the wave done."""

import logging
from datetime import timedelta
from time import perf_counter

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django_tasks import task

from impact.engine import decision_impact
from onboarding.principal import Principal
from rollouts.models import (
    ACTIVE_STATUSES,
    Rollout,
    RolloutStatus,
    RolloutTenant,
    RolloutWave,
    TenantStatus,
    WaveStatus,
)
from rollouts.selectors import shadow_readings
from rollouts.services.records import rollout_event
from runtime_config.models import TenantActiveConfig
from runtime_config.services.batch import apply_targets, attach_packs
from runtime_config.services.canary import canaries_clear, canaries_set
from runtime_config.services.targets import KIND_ROLLBACK, KIND_ROLLOUT, Target

logger = logging.getLogger("rollouts")

WORKER = "rollout-worker"


def enqueue_step(rollout: Rollout) -> None:
    """Queue the rollout's next step for `next_wave_at` (now when unset), in the caller's
    transaction: the task exists exactly when the state that needs it commits."""
    when = rollout.next_wave_at or timezone.now()
    rollout_step_task.using(run_after=when).enqueue(str(rollout.pk))


def lock_rollout(rollout_id) -> Rollout | None:
    return (
        Rollout.objects.select_for_update(of=("self",))
        .select_related("domain_pack")
        .filter(pk=rollout_id)
        .first()
    )


def rollout_step(*, rollout_id: str) -> str:
    """Apply the rollout's next wave if it is due. Returns what happened."""
    with transaction.atomic():
        rollout = lock_rollout(rollout_id)
        if rollout is None or rollout.status not in ACTIVE_STATUSES:
            return "idle"
        if rollout.next_wave_at and rollout.next_wave_at > timezone.now():
            return "not_due"
        wave = rollout.waves.filter(status=WaveStatus.PENDING).order_by("index").first()
        if rollout.canary:
            return canary_step(rollout, wave)
        if wave is None:
            finish(rollout, RolloutStatus.COMPLETED, WORKER, "every wave applied")
            return "completed"
        result = apply_wave(rollout, wave)
    return result


def apply_wave(rollout: Rollout, wave: RolloutWave) -> str:
    """Inside the step's transaction, the rollout row locked."""
    started = perf_counter()
    members = list(
        RolloutTenant.objects.filter(wave=wave, status=TenantStatus.PENDING).order_by("tenant_id")
    )
    principal, outcome, skipped = move_members(
        rollout, wave, members, f"Rollout {rollout.id}, wave {wave.index + 1}"
    )
    now = timezone.now()
    done = RolloutWave.objects.filter(pk=wave.pk, status=WaveStatus.PENDING).update(
        status=WaveStatus.APPLIED,
        applied_at=now,
        moved=len(outcome.applied),
        skipped=len(skipped),
        duration_ms=(perf_counter() - started) * 1000,
    )
    if done != 1:  # cannot happen under the row lock; never apply a wave twice regardless
        raise RuntimeError(f"wave {wave.pk} was applied concurrently")
    wave.refresh_from_db()
    if _guards_read_decisions(rollout):
        take_readings(rollout, [m.tenant_id for m in members if m.status == TenantStatus.MOVED])
    rollout_event(
        rollout,
        "wave_applied",
        principal.username,
        f"wave {wave.index + 1}: {wave.moved} tenant(s) moved, {wave.skipped} skipped",
        wave=wave.index + 1,
        moved=wave.moved,
        skipped=dict(list(skipped.items())[:100]),
    )
    tripped = guard_tripped(rollout)
    if tripped:
        halt(rollout, tripped, WORKER)
        return "halted"
    if not rollout.waves.filter(status=WaveStatus.PENDING).exists():
        finish(rollout, RolloutStatus.COMPLETED, WORKER, "every wave applied")
        return "completed"
    rollout.status = RolloutStatus.BAKING
    rollout.next_wave_at = now + timedelta(seconds=rollout.bake_seconds)
    rollout.save(update_fields=["status", "next_wave_at", "updated_at"])
    enqueue_step(rollout)
    return "applied"


def move_members(rollout: Rollout, wave: RolloutWave, members: list[RolloutTenant], comment: str):
    """Move `members` (all of `wave`) wholly to the rollout's domain pack, each keeping its own
    tenant pack, in one batch; their rows say MOVED or SKIPPED (with the reason)."""
    principal = acting_principal(rollout)
    configs = {
        config.tenant_id: config
        for config in TenantActiveConfig.objects.filter(
            tenant_id__in=[member.tenant_id for member in members]
        )
    }
    attach_packs(configs.values())
    targets, expected, gone = {}, {}, {}
    for member in members:
        config = configs.get(member.tenant_id)
        if config is None or config.domain != rollout.domain:
            gone[member.tenant_id] = "not_on_domain: the tenant no longer runs this domain."
            continue
        targets[member.tenant_id] = Target(rollout.domain, rollout.domain_pack, config.tenant_pack)
        expected[member.tenant_id] = config.revision
    outcome = apply_targets(
        principal=principal,
        targets=targets,
        comment=comment,
        kind=KIND_ROLLOUT,
        details={"rollout_id": str(rollout.id), "wave": wave.index + 1},
        expected_revisions=expected,
    )
    skipped = {**gone, **outcome.skipped}
    for member in members:
        if member.tenant_id in outcome.applied:
            before = outcome.before[member.tenant_id]
            member.status = TenantStatus.MOVED
            member.revision_before, member.revision_after = outcome.applied[member.tenant_id]
            member.from_domain_pack_id = before["domain_pack_id"]
            member.from_tenant_pack_id = before["tenant_pack_id"]
        else:
            member.status = TenantStatus.SKIPPED
            member.skip_reason = skipped.get(member.tenant_id, "unknown")
            config = configs.get(member.tenant_id)
            member.revision_before = config.revision if config else None
    grouped_update(members, ("status", "revision_before", "revision_after", "from_domain_pack_id"))
    grouped_update([m for m in members if m.status == TenantStatus.SKIPPED], ("skip_reason",))
    # A wave keeps each tenant's own tenant pack: the one it ran before is the one it runs now.
    RolloutTenant.objects.filter(wave=wave, status=TenantStatus.MOVED).update(
        from_tenant_pack_id=Subquery(
            TenantActiveConfig.objects.filter(tenant_id=OuterRef("tenant_id")).values(
                "tenant_pack_id"
            )[:1]
        )
    )
    return principal, outcome, skipped


def canary_step(rollout: Rollout, wave: RolloutWave | None) -> str:
    """A step of a rollout with `canary` (DESIGN §16): the tenants in canary are checked against
    the guards (their shadow counts), then promoted (moved wholly, their canary removed); then the
    next wave's tenants go into canary for the bake time. No wave left: completed."""
    members = list(
        RolloutTenant.objects.filter(rollout=rollout, status=TenantStatus.CANARY)
        .select_related("wave")
        .order_by("tenant_id")
    )
    if members:
        canary_readings(rollout)
        tripped = guard_tripped(rollout)
        if tripped:
            halt(rollout, tripped, WORKER)
            return "halted"
        promote(rollout, members)
    if wave is None:
        finish(rollout, RolloutStatus.COMPLETED, WORKER, "every wave applied")
        return "completed"
    return start_canary(rollout, wave)


def promote(rollout: Rollout, members: list[RolloutTenant]) -> None:
    """The canary's tenants (one wave's) move wholly; their canary ends in the same commit."""
    wave = members[0].wave
    principal, outcome, skipped = move_members(
        rollout, wave, members, f"Rollout {rollout.id}, wave {wave.index + 1} promoted from canary"
    )
    canaries_clear(rollout_id=rollout.id, tenant_ids=[member.tenant_id for member in members])
    RolloutWave.objects.filter(pk=wave.pk).update(
        moved=len(outcome.applied), skipped=F("skipped") + len(skipped)
    )
    rollout_event(
        rollout,
        "canary_promoted",
        principal.username,
        f"wave {wave.index + 1}: {len(outcome.applied)} tenant(s) promoted from canary, "
        f"{len(skipped)} skipped",
        wave=wave.index + 1,
        moved=len(outcome.applied),
        skipped=dict(list(skipped.items())[:100]),
    )


def start_canary(rollout: Rollout, wave: RolloutWave) -> str:
    """The wave's tenants into canary: the candidate serves `percent` of their exceptions."""
    started = perf_counter()
    members = list(
        RolloutTenant.objects.filter(wave=wave, status=TenantStatus.PENDING).order_by("tenant_id")
    )
    revisions = dict(
        TenantActiveConfig.objects.filter(
            tenant_id__in=[member.tenant_id for member in members], domain=rollout.domain
        ).values_list("tenant_id", "revision")
    )
    gone = {}
    for member in members:
        if member.tenant_id in revisions:
            member.status, member.revision_before = TenantStatus.CANARY, revisions[member.tenant_id]
        else:
            member.status, member.revision_before = TenantStatus.SKIPPED, None
            member.skip_reason = gone[member.tenant_id] = (
                "not_on_domain: the tenant no longer runs this domain."
            )
    grouped_update(members, ("status", "revision_before", "skip_reason"))
    canary = rollout.canary
    count = canaries_set(
        rollout_id=rollout.id,
        domain_pack=rollout.domain_pack,
        percent=canary["percent"],
        shadow=bool(canary.get("shadow")),
        tenant_ids=sorted(revisions),
    )
    now = timezone.now()
    done = RolloutWave.objects.filter(pk=wave.pk, status=WaveStatus.PENDING).update(
        status=WaveStatus.APPLIED,
        applied_at=now,
        moved=0,
        skipped=len(gone),
        duration_ms=(perf_counter() - started) * 1000,
    )
    if done != 1:  # cannot happen under the row lock; never apply a wave twice regardless
        raise RuntimeError(f"wave {wave.pk} was applied concurrently")
    rollout_event(
        rollout,
        "canary_started",
        WORKER,
        f"wave {wave.index + 1}: {count} tenant(s) in canary at {canary['percent']} %"
        + (" with shadow" if canary.get("shadow") else "")
        + f", {len(gone)} skipped",
        wave=wave.index + 1,
        canary=count,
        skipped=dict(list(gone.items())[:100]),
    )
    tripped = guard_tripped(rollout)
    if tripped:
        halt(rollout, tripped, WORKER)
        return "halted"
    rollout.status = RolloutStatus.BAKING
    rollout.next_wave_at = now + timedelta(seconds=rollout.bake_seconds)
    rollout.save(update_fields=["status", "next_wave_at", "updated_at"])
    enqueue_step(rollout)
    return "applied"


def canary_readings(rollout: Rollout) -> dict:
    """The guard readings of a canary: its shadow counts, as flushed by the serving processes."""
    readings = dict(rollout.readings or {})
    readings.update(shadow_readings(rollout))
    rollout.readings = readings
    rollout.save(update_fields=["readings", "updated_at"])
    return readings


def grouped_update(rows: list[RolloutTenant], fields: tuple[str, ...]) -> None:
    """Write `fields` of `rows` with one UPDATE per distinct combination of values (a wave has a
    handful), not one statement per row or a CASE per field and row."""
    groups: dict[tuple, list[int]] = {}
    for row in rows:
        groups.setdefault(tuple(getattr(row, name) for name in fields), []).append(row.pk)
    for values, pks in groups.items():
        for start in range(0, len(pks), 5000):
            RolloutTenant.objects.filter(pk__in=pks[start : start + 5000]).update(
                **dict(zip(fields, values, strict=True))
            )


def acting_principal(rollout: Rollout) -> Principal:
    """The approver (else the requester) the rollout's changes are made as."""
    user = get_user_model().objects.filter(username=rollout.acting_as, is_active=True).first()
    if user is None:
        return Principal.system(rollout.acting_as)
    return Principal.from_user(user)


def _guards_read_decisions(rollout: Rollout) -> bool:
    """Evaluating every moved tenant's samples costs CPU per tenant: done when a guard reads it."""
    guards = rollout.guards or {}
    return guards.get("max_divergence_pct") is not None or guards.get("max_eval_errors") is not None


def take_readings(rollout: Rollout, moved: list[str]) -> None:
    """Guard readings after a wave: the moved tenants' sample sets evaluated under the
    configuration they left and the one they run now — evaluation errors, and the share of
    decisions (severity, playbook, approval) that diverge."""
    readings = dict(rollout.readings or {})
    if moved:
        rows = RolloutTenant.objects.filter(rollout=rollout, tenant_id__in=moved).select_related(
            "from_domain_pack", "from_tenant_pack"
        )
        for row in rows:
            result = decision_impact(
                tenant_id=row.tenant_id,
                before=(row.from_domain_pack, row.from_tenant_pack),
                after=(rollout.domain_pack, row.from_tenant_pack),
            )
            readings["evaluated"] = readings.get("evaluated", 0) + result["evaluated"]
            readings["changed"] = readings.get("changed", 0) + result["changed"]
            readings["eval_errors"] = readings.get("eval_errors", 0) + result["errors"]
    evaluated = readings.get("evaluated", 0)
    readings["divergence_pct"] = (
        round(100 * readings.get("changed", 0) / evaluated, 2) if evaluated else 0.0
    )
    rollout.readings = readings
    rollout.save(update_fields=["readings", "updated_at"])


def guard_tripped(rollout: Rollout) -> str:
    """Why the rollout must stop now, or ""."""
    readings, guards = rollout.readings or {}, rollout.guards or {}
    skipped = RolloutTenant.objects.filter(rollout=rollout, status=TenantStatus.SKIPPED).count()
    if rollout.max_skipped is not None and skipped > rollout.max_skipped:
        return f"max_skipped: {skipped} tenant(s) skipped, at most {rollout.max_skipped} allowed"
    limit = guards.get("max_eval_errors")
    if limit is not None and readings.get("eval_errors", 0) > limit:
        return f"max_eval_errors: {readings['eval_errors']} evaluation error(s), limit {limit}"
    limit = guards.get("max_divergence_pct")
    if limit is not None and readings.get("divergence_pct", 0) > limit:
        return f"max_divergence_pct: {readings['divergence_pct']} % divergent, limit {limit} %"
    return ""


def halt(rollout: Rollout, reason: str, actor: str) -> None:
    """A tripped guard or an alarm: HALTED, and — unless the plan says otherwise — every moved
    tenant back on its previous revision (ROLLED_BACK)."""
    rollout.status = RolloutStatus.HALTED
    rollout.status_reason = reason[:2000]
    rollout.save(update_fields=["status", "status_reason", "updated_at"])
    rollout_event(rollout, "halted", actor, f"halted: {reason}", reason=reason)
    if rollout.auto_rollback:
        restore(rollout, actor)
        finish(rollout, RolloutStatus.ROLLED_BACK, actor, f"rolled back after: {reason}")
    else:
        release(rollout)


def restore(rollout: Rollout, actor: str) -> dict[str, int]:
    """Every MOVED tenant back on the pair it ran before, as long as nobody moved it since."""
    moved = list(
        RolloutTenant.objects.filter(rollout=rollout, status=TenantStatus.MOVED).select_related(
            "from_domain_pack", "from_tenant_pack"
        )
    )
    targets = {
        row.tenant_id: Target(rollout.domain, row.from_domain_pack, row.from_tenant_pack)
        for row in moved
    }
    outcome = apply_targets(
        principal=acting_principal(rollout),
        targets=targets,
        comment=f"Rollout {rollout.id} rolled back",
        kind=KIND_ROLLBACK,
        details={"rollout_id": str(rollout.id)},
        expected_revisions={row.tenant_id: row.revision_after for row in moved},
        refuse_pending=False,
    )
    for row in moved:
        if row.tenant_id in outcome.applied:
            row.status = TenantStatus.RESTORED
            row.restored_revision = outcome.applied[row.tenant_id][1]
        else:
            row.status = TenantStatus.NOT_RESTORED
            row.skip_reason = outcome.skipped.get(row.tenant_id, "unknown")
    grouped_update(moved, ("status", "restored_revision", "skip_reason"))
    counts = {"restored": len(outcome.applied), "not_restored": len(outcome.skipped)}
    rollout_event(
        rollout,
        "rolled_back",
        actor,
        f"{counts['restored']} tenant(s) restored, {counts['not_restored']} left as they are",
        restored=counts["restored"],
        left=dict(list(outcome.skipped.items())[:100]),
    )
    return counts


def finish(rollout: Rollout, status: str, actor: str, summary: str) -> None:
    rollout.status = status
    rollout.next_wave_at = None
    if status != RolloutStatus.COMPLETED and not rollout.status_reason:
        rollout.status_reason = summary
    rollout.save(update_fields=["status", "next_wave_at", "status_reason", "updated_at"])
    release(rollout)
    what = {
        RolloutStatus.COMPLETED: "completed",
        RolloutStatus.ROLLED_BACK: "rolled_back_complete",
        RolloutStatus.CANCELLED: "cancelled",
    }.get(status, status.lower())
    if what != "rolled_back_complete":
        rollout_event(rollout, what, actor, summary)


def release(rollout: Rollout) -> None:
    """A finished rollout holds its tenants no longer: they may join another. A canary still
    running ends: the baseline serves its tenants again."""
    if RolloutTenant.objects.filter(rollout=rollout, status=TenantStatus.CANARY).update(
        status=TenantStatus.RESTORED
    ):
        canaries_clear(rollout_id=rollout.id)
    RolloutTenant.objects.filter(rollout=rollout, holding=True).update(holding=False)


def rollouts_recover(*, now=None) -> int:
    """Run the steps that are overdue by more than ROLLOUT_RECOVERY_GRACE_SECONDS: their task
    was lost (a worker killed mid-wave). Safe from many workers: each step locks the row."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.ROLLOUT_RECOVERY_GRACE_SECONDS)
    overdue = Rollout.objects.filter(
        Q(next_wave_at__lt=now - grace) | Q(next_wave_at__isnull=True),
        status__in=ACTIVE_STATUSES,
    ).values_list("pk", flat=True)[:100]
    return sum(
        rollout_step(rollout_id=str(pk)) in ("applied", "completed", "halted") for pk in overdue
    )


@task(queue_name="rollouts", priority=10)
def rollout_step_task(rollout_id: str) -> str:
    """The worker's task (queue `rollouts`): one step of one rollout."""
    return rollout_step(rollout_id=rollout_id)
