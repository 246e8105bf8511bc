"""Four-eyes approval of activations (DESIGN §8): the change request's life — created
PENDING, then approved (applied, scheduled, or STALE when the configuration moved meanwhile),
rejected or cancelled. A policy request's approval is governance.services.policy's."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance import hooks, signals
from governance.services.access import approve_access
from governance.services.pending import end_stale, supersede_pending
from governance.services.policy import approve_policy
from governance.services.records import change_request_snapshot, pair_text
from governance.services.reviews import (
    change_request_visible,
    close_request,
    lock_pending,
    may_review,
    refusal_recorded,
    require_reviewer,
    send_review_event,
)
from governance.services.scheduling import problem_reason, request_row_create, schedule
from onboarding.errors import Conflict, Forbidden, ServiceError, finding
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest, TenantActiveConfig
from runtime_config.services.apply import apply_target, lock_config
from runtime_config.services.targets import KIND_ACCESS, KIND_POLICY, KIND_ROLLOUT, Target
from tenants.identity import same_identity
from tenants.models import Tenant

# Problems that end a request STALE at approval: the pair it names can no longer be applied as
# requested. Not these: reactivating the tenant, or restoring the tampered row from a backup,
# makes the request good again (and a tampered row is evidence the request should point at);
# meanwhile any other ADMIN may reject it.
_KEEPS_PENDING = {"tenant_suspended", "pack_integrity_failure"}


def change_request_create(
    *,
    principal: Principal,
    tenant: Tenant,
    target: Target,
    base_revision: int,
    comment: str,
    kind: str,
    apply_at: datetime | None = None,
) -> ConfigChangeRequest:
    """Record a checked change that waits for approval (callers check it first, see
    activation.request_change). With `apply_at`, approval schedules it instead of applying it."""
    with transaction.atomic():
        # The tenant row's lock makes "one PENDING per tenant" hold under concurrency; the row
        # helper locks the pack rows, ordering this request against a concurrent deprecation
        # (which refuses while a request names the pack, packs.services.pack_set_status).
        Tenant.objects.select_for_update(no_key=True).get(pk=tenant.pk)
        change_request = request_row_create(
            principal=principal,
            tenant=tenant,
            target=target,
            base_revision=base_revision,
            comment=comment,
            kind=kind,
            apply_at=apply_at,
            status=ChangeRequestStatus.PENDING,
        )
        supersede_pending(
            tenant_id=tenant.tenant_id,
            kind=kind,
            actor=principal.username,
            keep=change_request.pk,
        )
        send_event(
            signals.config_activation_requested,
            ConfigChangeRequest,
            DomainEvent(
                action="config.activation_requested",
                actor=principal.username,
                summary=f"Activation of {pair_text(change_request)} for {tenant.tenant_id} "
                "requested (awaiting approval)",
                tenant_id=tenant.tenant_id,
                object_type="config_change_request",
                object_id=str(change_request.pk),
                domain=target.domain,
                version=target.domain_pack.version if target.domain_pack else "",
                checksum=target.domain_pack.checksum if target.domain_pack else "",
                details={"change_request": change_request_snapshot(change_request)},
            ),
        )
    return change_request


def change_request_approve(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> tuple[ConfigChangeRequest, TenantActiveConfig | None]:
    change_request = change_request_visible(principal, change_request_id)
    with refusal_recorded(principal, change_request, "approve"):
        return _approve(principal, change_request, comment)


def _approve(principal: Principal, change_request: ConfigChangeRequest, comment: str):
    require_reviewer(principal, change_request)
    if same_identity(change_request.requested_by, principal.username):
        raise Forbidden(
            "A change request must be approved by someone other than its requester.",
            code="self_approval",
        )
    if change_request.kind == KIND_POLICY:
        return approve_policy(principal, change_request, comment), None
    if change_request.kind == KIND_ACCESS:
        return approve_access(principal, change_request, comment), None
    if change_request.kind == KIND_ROLLOUT:
        return _approve_rollout(principal, change_request, comment), None
    refusal: ServiceError | None = None
    with transaction.atomic():
        # Tenant row first, then the request: the order every writer of this tenant takes.
        tenant, config = lock_config(change_request.tenant_id)
        change_request = lock_pending(change_request.pk)
        revision = config.revision if config else 0
        if revision != change_request.base_revision:
            refusal = Conflict(
                f"The tenant's configuration moved from revision {change_request.base_revision} "
                "since this change was requested; request it again.",
                code="stale_change_request",
                errors=[
                    finding(
                        "stale_change_request",
                        "",
                        f"Base revision {change_request.base_revision}, current {revision}.",
                    )
                ],
            )
            close_request(change_request, ChangeRequestStatus.STALE, principal, comment)
            change_request.status_reason = "revision_moved"
            change_request.save(update_fields=["status_reason"])
            send_review_event(
                signals.change_request_stale, "change_request.stale", change_request, principal
            )
        elif change_request.apply_at is not None and change_request.apply_at <= timezone.now():
            # Its window is over: applying it now would be a change nobody asked for at this
            # time. The request ends STALE; the requester asks again with a new apply_at.
            refusal = Conflict(
                "This change request was to be applied at "
                f"{change_request.apply_at.isoformat()}, which has passed; request it again.",
                code="apply_at_passed",
                errors=[
                    finding(
                        "apply_at_passed",
                        "/apply_at",
                        f"apply_at {change_request.apply_at.isoformat()} has passed.",
                    )
                ],
            )
            end_stale(
                change_request,
                reason="apply_at_passed",
                actor=principal.username,
                what="was approved after its apply_at had passed",
            )
        elif change_request.apply_at is not None:
            # Approved for later: the worker applies it at apply_at, re-checking everything.
            close_request(change_request, ChangeRequestStatus.SCHEDULED, principal, comment)
            send_review_event(
                signals.change_request_approved,
                "change_request.approved",
                change_request,
                principal,
            )
            schedule(change_request, actor=principal.username)
        else:
            target = Target(
                domain=change_request.domain,
                domain_pack=change_request.domain_pack,
                tenant_pack=change_request.tenant_pack,
            )
            try:
                with transaction.atomic():
                    applied = apply_target(
                        principal=principal,
                        tenant=tenant,
                        target=target,
                        comment=change_request.comment,
                        kind=change_request.kind,
                        change_request=change_request,
                    )
            except ServiceError as problem:
                if problem.code in _KEEPS_PENDING:
                    raise
                # The pair can no longer be applied (a pack deprecated, tampered with or
                # incompatible meanwhile): the request ends here, with the reason, instead of
                # staying PENDING and refusing every approval.
                refusal = problem
                end_stale(
                    change_request,
                    reason=problem_reason(problem),
                    actor=principal.username,
                    what=f"could not be applied ({problem.code})",
                )
            else:
                config = applied or config
                close_request(change_request, ChangeRequestStatus.APPLIED, principal, comment)
                send_review_event(
                    signals.change_request_approved,
                    "change_request.approved",
                    change_request,
                    principal,
                )
    if refusal is not None:
        # Its change_request.stale row already records this refusal, with the reason.
        refusal.already_audited = True
        raise refusal
    return change_request, config


def _approve_rollout(
    principal: Principal, change_request: ConfigChangeRequest, comment: str
) -> ConfigChangeRequest:
    """A fleet rollout's plan (DESIGN §16): approving it starts the rollout, whose worker
    re-checks every tenant as each wave applies."""
    with transaction.atomic():
        change_request = lock_pending(change_request.pk)
        close_request(change_request, ChangeRequestStatus.APPLIED, principal, comment)
        send_review_event(
            signals.change_request_approved, "change_request.approved", change_request, principal
        )
        hooks.rollout_approved(change_request=change_request, principal=principal)
    return change_request


def change_request_reject(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> ConfigChangeRequest:
    """Any ADMIN of the request's scope but its requester (who may cancel it instead); a
    platform ADMIN may reject any request, a scheduled one included."""
    change_request = change_request_visible(principal, change_request_id)
    with refusal_recorded(principal, change_request, "reject"):
        require_reviewer(principal, change_request)
        if same_identity(change_request.requested_by, principal.username):
            raise Forbidden(
                "The requester cannot reject their own change request; cancel it instead.",
                code="self_rejection",
            )
        return _end_open(change_request, ChangeRequestStatus.REJECTED, principal, comment)


def change_request_cancel(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> ConfigChangeRequest:
    """Only the requester withdraws a request (others reject it, which records a review)."""
    change_request = change_request_visible(principal, change_request_id)
    with refusal_recorded(principal, change_request, "cancel"):
        if not same_identity(change_request.requested_by, principal.username):
            if not may_review(principal, change_request):
                raise Forbidden(
                    "Only the requester may cancel a change request.", code="admin_required"
                )
            raise Forbidden(
                "Only the requester may cancel a change request; an ADMIN may reject it.",
                code="not_requester",
            )
        return _end_open(change_request, ChangeRequestStatus.CANCELLED, principal, comment)


_END_EVENTS = {
    ChangeRequestStatus.REJECTED: (signals.change_request_rejected, "change_request.rejected"),
    ChangeRequestStatus.CANCELLED: (signals.change_request_cancelled, "change_request.cancelled"),
}


def _end_open(
    change_request: ConfigChangeRequest, status: str, principal: Principal, comment: str
) -> ConfigChangeRequest:
    """Reject or cancel a request that is still open: PENDING, or SCHEDULED until the worker
    applies it."""
    signal, action = _END_EVENTS[status]
    with transaction.atomic():
        change_request = lock_pending(change_request.pk, also=(ChangeRequestStatus.SCHEDULED,))
        close_request(change_request, status, principal, comment)
        send_review_event(signal, action, change_request, principal)
        if change_request.kind == KIND_ROLLOUT:
            hooks.rollout_request_ended(change_request=change_request, principal=principal)
    return change_request
