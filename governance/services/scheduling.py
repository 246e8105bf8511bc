"""Scheduled activation (DESIGN §14): a change that waits for `apply_at`.

Without approval the request is SCHEDULED at once; with approval it is PENDING first and becomes
SCHEDULED when approved (instead of being applied). Its task (django-tasks, queue
`activations`, `run_after=apply_at`) is enqueued in the same transaction. When it comes due the
worker applies it through `apply_target` — every check runs again then, the tenant's revision
included — as the person accountable for it (the approver, else the requester), who must still
be an ADMIN of the tenant. A failing check ends the request STALE with the reason. It can be
cancelled until it is applied."""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from governance import signals
from governance.services.previews import review_impact_request
from governance.services.records import change_request_snapshot, pair_text
from onboarding.errors import Conflict, Forbidden, InvalidInput, ServiceError, finding
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal
from onboarding.rfc3339 import parse_rfc3339
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest
from runtime_config.services.apply import apply_target, lock_config, locked_target
from runtime_config.services.compatibility import deprecated_findings
from runtime_config.services.targets import Target
from tenants.models import Tenant
from tenants.policy import approval_applies, share_platform_settings

MAX_AHEAD = timedelta(days=90)
# A request still SCHEDULED this long after `apply_at` lost its task (a worker died while running
# it, or the task row was removed): the recovery step applies it.
RECOVERY_GRACE = timedelta(seconds=30)


def parse_apply_at(value: Any, *, now: datetime | None = None) -> datetime:
    """An RFC 3339 date-time with an explicit offset, in the future, at most 90 days ahead."""
    path = "/apply_at"
    moment = parse_rfc3339(value)
    if moment is None:
        raise InvalidInput(
            "apply_at must be an RFC 3339 date-time with a UTC offset.",
            code="invalid_apply_at",
            errors=[
                finding(
                    "invalid_apply_at",
                    path,
                    "Not an RFC 3339 date-time with an offset.",
                    "e.g. 2026-12-24T22:00:00Z or 2026-12-24T23:00:00+01:00",
                )
            ],
        )
    now = now or timezone.now()
    if moment <= now:
        raise InvalidInput(
            "apply_at must be in the future.",
            code="apply_at_in_past",
            errors=[finding("apply_at_in_past", path, f"{value} is not in the future.")],
        )
    if moment > now + MAX_AHEAD:
        raise InvalidInput(
            "apply_at may be at most 90 days ahead.",
            code="apply_at_too_far",
            errors=[finding("apply_at_too_far", path, f"{value} is more than 90 days ahead.")],
        )
    return moment


def change_request_schedule(
    *,
    principal: Principal,
    tenant: Tenant,
    target: Target,
    base_revision: int,
    comment: str,
    kind: str,
    apply_at: datetime,
) -> ConfigChangeRequest:
    """A checked change that needs no approval, waiting for `apply_at`."""
    with transaction.atomic():
        change_request = request_row_create(
            principal=principal,
            tenant=tenant,
            target=target,
            base_revision=base_revision,
            comment=comment,
            kind=kind,
            apply_at=apply_at,
            status=ChangeRequestStatus.SCHEDULED,
        )
        schedule(change_request, actor=principal.username)
    return change_request


def request_row_create(
    *,
    principal: Principal,
    tenant: Tenant,
    target: Target,
    base_revision: int,
    comment: str,
    kind: str,
    apply_at: datetime | None,
    status: str,
) -> ConfigChangeRequest:
    """The row of a pack change request, inside the caller's transaction. Its pack rows are
    locked first, so that it is ordered against a concurrent deprecation of them (which refuses
    while a request names the pack: pack_pending_approval)."""
    deprecated = deprecated_findings(locked_target(target))
    if deprecated:
        raise Conflict(
            "A deprecated pack version cannot be activated.",
            code="pack_deprecated",
            errors=deprecated,
        )
    change_request = ConfigChangeRequest.objects.create(
        tenant=tenant,
        domain=target.domain,
        domain_pack=target.domain_pack,
        tenant_pack=target.tenant_pack,
        base_revision=base_revision,
        kind=kind,
        requested_by=principal.username,
        comment=comment or "",
        apply_at=apply_at,
        status=status,
    )
    if status == ChangeRequestStatus.PENDING:
        review_impact_request(change_request)
    return change_request


def schedule(change_request: ConfigChangeRequest, *, actor: str) -> None:
    """Mark the (locked or new) request SCHEDULED, enqueue its task, record it; inside the
    caller's transaction."""
    change_request.status = ChangeRequestStatus.SCHEDULED
    change_request.save(update_fields=["status"])
    apply_scheduled_change.using(run_after=change_request.apply_at).enqueue(str(change_request.pk))
    _send(
        signals.change_request_scheduled,
        "change_request.scheduled",
        change_request,
        actor,
        f"scheduled for {change_request.apply_at.isoformat()}",
    )


def change_request_apply_scheduled(*, change_request_id: str) -> str:
    """Apply a SCHEDULED request that has come due (the worker). Returns what happened."""
    with transaction.atomic():
        change_request = (
            ConfigChangeRequest.objects.select_for_update(of=("self",))
            .select_related("tenant", "domain_pack", "tenant_pack")
            .filter(pk=change_request_id)
            .first()
        )
        if change_request is None or change_request.status != ChangeRequestStatus.SCHEDULED:
            return "skipped"  # cancelled, applied by recovery, or gone
        if change_request.apply_at > timezone.now():
            return "not_due"
        username = change_request.reviewed_by or change_request.requested_by
        try:
            with transaction.atomic():
                actor = _still_admin(username, change_request.tenant_id)
                _approval_still_given(change_request)
                apply_target(
                    principal=actor,
                    tenant=change_request.tenant,
                    target=Target(
                        domain=change_request.domain,
                        domain_pack=change_request.domain_pack,
                        tenant_pack=change_request.tenant_pack,
                    ),
                    comment=change_request.comment,
                    kind=change_request.kind,
                    expected_revision=change_request.base_revision,
                    change_request=change_request,
                )
        except ServiceError as problem:
            _end(change_request, ChangeRequestStatus.STALE, problem_reason(problem))
            _send(
                signals.change_request_stale,
                "change_request.stale",
                change_request,
                username,
                f"not applied at its scheduled time ({problem.code})",
            )
            return "stale"
        _end(change_request, ChangeRequestStatus.APPLIED, "")
        _send(
            signals.change_request_applied,
            "change_request.applied",
            change_request,
            username,
            "applied at its scheduled time",
        )
    return "applied"


def scheduled_recover(*, now: datetime | None = None) -> int:
    """Apply (or end STALE) the requests overdue by more than RECOVERY_GRACE: their task was
    lost. Safe from many workers at once: each request is locked and its status re-read."""
    now = now or timezone.now()
    overdue = ConfigChangeRequest.objects.filter(
        status=ChangeRequestStatus.SCHEDULED, apply_at__lt=now - RECOVERY_GRACE
    ).values_list("pk", flat=True)[:100]
    return sum(
        change_request_apply_scheduled(change_request_id=str(pk)) in ("applied", "stale")
        for pk in overdue
    )


def _approval_still_given(change_request: ConfigChangeRequest) -> None:
    """A change scheduled without approval (none applied then) is not applied once approval
    applies to the tenant: four-eyes holds at the moment the change is made. Decided under the
    tenant row's lock and the global setting held FOR SHARE, like an activation."""
    if change_request.reviewed_by:
        return
    tenant, _ = lock_config(change_request.tenant_id)
    if tenant.require_activation_approval is None:
        share_platform_settings()
    if approval_applies(tenant):
        raise Conflict(
            "Approval now applies to this tenant and this change was scheduled without it; "
            "request it again.",
            code="approval_required",
            errors=[
                finding(
                    "approval_required",
                    "",
                    "Scheduled without approval; the tenant's policy now requires it.",
                )
            ],
        )


def _still_admin(username: str, tenant_id: str) -> Principal:
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    principal = Principal.from_user(user) if user is not None else None
    if principal is None or not principal.can_write_tenant(tenant_id):
        raise Forbidden(f"{username} is no longer an ADMIN of {tenant_id}.", code="admin_required")
    return principal


def problem_reason(problem: ServiceError) -> str:
    """`code: detail` and what each finding says, e.g. "pack_deprecated: A deprecated pack
    version cannot be activated. (Tenant pack v1.5 is DEPRECATED.)"."""
    messages = [str(item.get("message", "")) for item in problem.errors if item.get("message")]
    detail = f" ({' '.join(messages)})" if messages else ""
    return f"{problem.code}: {problem.detail}{detail}"


def _end(change_request: ConfigChangeRequest, status: str, reason: str) -> None:
    change_request.status = status
    change_request.status_reason = reason[:2000]
    change_request.save(update_fields=["status", "status_reason"])


def _send(signal, action: str, change_request, actor: str, what: str) -> None:
    send_event(
        signal,
        ConfigChangeRequest,
        DomainEvent(
            action=action,
            actor=actor,
            summary=f"Change request for {pair_text(change_request)} "
            f"({change_request.tenant_id}) {what}",
            tenant_id=change_request.tenant_id,
            object_type="config_change_request",
            object_id=str(change_request.pk),
            domain=change_request.domain,
            version=change_request.domain_pack.version if change_request.domain_pack else "",
            checksum=change_request.domain_pack.checksum if change_request.domain_pack else "",
            details={"change_request": change_request_snapshot(change_request)},
        ),
    )


@task(queue_name="activations", priority=10)
def apply_scheduled_change(change_request_id: str) -> str:
    """The task the worker runs at `apply_at` (queue `activations`, a loop of its own)."""
    return change_request_apply_scheduled(change_request_id=change_request_id)
