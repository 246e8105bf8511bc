"""Decision impact off the request path (DESIGN §14, issue 25): a review reads a stored run.

A change request that waits for review gets its impact run requested when it is created
(`impact_run_request`, inside the creating transaction: one `impact_runs` row and one task on
the worker's `impact` queue). The worker computes it once (`compute_impact_run`) within
IMPACT_TIME_BUDGET_MS and stores the result, a partial one included, with the budget it had.
Review reads (`impact_run_read`, both doors) only read that row: reloading a review page costs a
primary-key lookup however many readers reload it, and never a request worker's CPU second.

A run is keyed by what its result depends on: the tenant, both (domain pack, tenant pack) pairs
(immutable rows) and the tenant's sample set. A new sample set is a new key: the next read
requests a new run and shows "pending" until the worker has it (recomputation, on the worker,
exactly when needed). A read that finds no run at all (a request older than this rule) requests
it the same way."""

import hashlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from impact.engine import Pair, compute_impact
from impact.models import ImpactRun, ImpactRunStatus, TenantSampleSet
from onboarding.rfc3339 import format_rfc3339
from packs.models import DomainPack, TenantPack

IMPACT_QUEUE = "impact"
# A run PENDING this long lost its task: the recovery step enqueues it again.
RECOVER_AFTER = timedelta(seconds=60)


def _ids(pair: Pair) -> list[int | None]:
    return [pack.pk if pack is not None else None for pack in pair]


def run_key(tenant_id: str, before: Pair, after: Pair, sample_checksum: str) -> str:
    packs = [(pack.pk, pack.checksum) if pack is not None else None for pack in (*before, *after)]
    parts = [tenant_id, packs, sample_checksum, settings.IMPACT_MAX_CHANGES]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _sample_checksum(tenant_id: str) -> str:
    found = TenantSampleSet.objects.filter(tenant_id=tenant_id).values_list("checksum").first()
    return found[0] if found else ""


def impact_run_request(*, tenant_id: str, before: Pair, after: Pair) -> ImpactRun:
    """The stored run of this impact, requested (row + worker task) when there is none; inside
    the caller's transaction when it has one. Idempotent under concurrency (the key is unique)."""
    checksum = _sample_checksum(tenant_id)
    key = run_key(tenant_id, before, after, checksum)
    run = ImpactRun.objects.filter(key=key).first()
    if run is not None:
        return run
    try:
        with transaction.atomic():
            run = ImpactRun.objects.create(
                key=key,
                tenant_id=tenant_id,
                pairs=[_ids(before), _ids(after)],
                sample_set_checksum=checksum,
                budget_ms=settings.IMPACT_TIME_BUDGET_MS,
                requested_at=timezone.now(),
            )
            compute_impact_run.enqueue(run.pk)
    except IntegrityError:  # requested at the same moment by another reader: theirs stands
        run = ImpactRun.objects.get(key=key)
    return run


def impact_run_read(*, tenant_id: str, before: Pair, after: Pair) -> dict[str, Any]:
    """What a review shows: the stored run, or `status: pending` until the worker has it."""
    return impact_view(impact_run_request(tenant_id=tenant_id, before=before, after=after))


PENDING_VIEW = {
    "samples": None,
    "evaluated": None,
    "changed": None,
    "errors": None,
    "partial": None,
    "truncated": None,
    "changes": [],
    "sources": None,
}


def impact_view(run: ImpactRun) -> dict[str, Any]:
    if run.status == ImpactRunStatus.DONE and isinstance(run.result, dict):
        return {
            **run.result,
            "status": "ready",
            "budget_ms": run.budget_ms,
            "computed_at": format_rfc3339(run.finished_at),
        }
    return {**PENDING_VIEW, "status": "pending", "budget_ms": run.budget_ms, "computed_at": None}


def _pack(model, pk: int | None):
    return model.objects.filter(pk=pk).first() if pk is not None else None


@task(queue_name=IMPACT_QUEUE)
def compute_impact_run(run_id: int) -> str:
    """The worker's side: compute a pending run once and store it (partial results too)."""
    run = ImpactRun.objects.filter(pk=run_id).first()
    if run is None or run.status == ImpactRunStatus.DONE:
        return "nothing to do"
    (before_domain, before_tenant), (after_domain, after_tenant) = run.pairs
    before = (_pack(DomainPack, before_domain), _pack(TenantPack, before_tenant))
    after = (_pack(DomainPack, after_domain), _pack(TenantPack, after_tenant))
    result = compute_impact(
        tenant_id=run.tenant_id, before=before, after=after, time_budget_ms=run.budget_ms
    )
    ImpactRun.objects.filter(pk=run.pk, status=ImpactRunStatus.PENDING).update(
        status=ImpactRunStatus.DONE,
        result=result,
        partial=result["partial"],
        finished_at=timezone.now(),
    )
    return "partial" if result["partial"] else "complete"


def pending_runs_recover() -> int:
    """Recovery step: a run still PENDING a minute after it was requested lost its task (the
    task row removed, a worker that died mid-run): enqueue it again (the task is idempotent)."""
    stale = ImpactRun.objects.filter(
        status=ImpactRunStatus.PENDING,
        requested_at__lt=timezone.now() - RECOVER_AFTER,
    ).values_list("pk", flat=True)[:100]
    count = 0
    for run_id in stale:
        ImpactRun.objects.filter(pk=run_id).update(requested_at=timezone.now())
        compute_impact_run.enqueue(run_id)
        count += 1
    return count
