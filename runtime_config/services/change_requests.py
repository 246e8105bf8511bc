"""Four-eyes approval of activations (DESIGN §8): the policy that decides whether a change waits,
and the change request's life — created PENDING, then approved (applied, or STALE when the
configuration moved meanwhile), rejected or cancelled."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from onboarding.errors import Conflict, Forbidden, NotFound, ServiceError, finding
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal, require_platform_admin
from runtime_config import signals
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest, TenantActiveConfig
from runtime_config.services.apply import apply_target, lock_config
from runtime_config.services.pending import end_stale, supersede_pending
from runtime_config.services.records import change_request_snapshot, pair_text
from runtime_config.services.scheduling import problem_reason, request_row_create, schedule
from runtime_config.services.targets import KIND_POLICY, Target
from tenants.access import tenant_for_write
from tenants.identity import same_identity
from tenants.models import Tenant
from tenants.policy import (
    approval_applies,
    platform_settings_apply,
    platform_settings_row,
    share_platform_settings,
    tenant_policy_apply,
)

# Problems that end a request STALE at approval: the pair it names can no longer be applied as
# requested. Not these: reactivating the tenant, or restoring the tampered row from a backup,
# makes the request good again (and a tampered row is evidence the request should point at);
# meanwhile any other ADMIN may reject it.
_KEEPS_PENDING = {"tenant_suspended", "pack_integrity_failure"}


def activation_requires_approval(tenant: Tenant, *, locked: bool = False) -> bool:
    """The tenant's policy, else the global setting (the platform_settings row, never the
    environment). `locked`: inside a transaction that acts on the answer, hold the global
    setting FOR SHARE so a concurrent change of it waits for this one."""
    if locked and tenant.require_activation_approval is None:
        share_platform_settings()
    return approval_applies(tenant)


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


def policy_change_request_create(
    *,
    principal: Principal,
    tenant: Tenant | None,
    require_activation_approval: bool | None,
    current: bool | None,
) -> ConfigChangeRequest:
    """A change that weakens four-eyes (a tenant's policy, or the global setting when `tenant` is
    None), waiting for a second ADMIN of the right scope. Runs inside the caller's transaction,
    which holds the tenant row's lock (or the platform settings row's)."""
    scope = "tenant" if tenant is not None else "global"
    tenant_id = tenant.tenant_id if tenant is not None else None
    supersede_pending(tenant_id=tenant_id, kind=KIND_POLICY, actor=principal.username)
    config = TenantActiveConfig.objects.filter(tenant_id=tenant_id).first() if tenant else None
    change_request = ConfigChangeRequest.objects.create(
        tenant=tenant,
        domain="",
        base_revision=config.revision if config else 0,
        kind=KIND_POLICY,
        # `from`: the policy this request was decided against; approval ends it STALE if that
        # moved meanwhile (a strengthening since must not be undone by an older request).
        policy={
            "scope": scope,
            "require_activation_approval": require_activation_approval,
            "from": current,
        },
        requested_by=principal.username,
    )
    send_event(
        signals.config_activation_requested,
        ConfigChangeRequest,
        DomainEvent(
            action="change_request.created",
            actor=principal.username,
            summary=f"Change of {pair_text(change_request)} for {tenant_id or 'the platform'} "
            "requested (awaiting approval by a second ADMIN)",
            tenant_id=tenant_id,
            object_type="config_change_request",
            object_id=str(change_request.pk),
            details={"change_request": change_request_snapshot(change_request)},
        ),
    )
    return change_request


def change_request_approve(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> tuple[ConfigChangeRequest, TenantActiveConfig | None]:
    change_request = _change_request_visible(principal, change_request_id)
    with _refusal_recorded(principal, change_request, "approve"):
        return _approve(principal, change_request, comment)


def _approve(principal: Principal, change_request: ConfigChangeRequest, comment: str):
    _require_reviewer(principal, change_request)
    if same_identity(change_request.requested_by, principal.username):
        raise Forbidden(
            "A change request must be approved by someone other than its requester.",
            code="self_approval",
        )
    if change_request.kind == KIND_POLICY:
        return _approve_policy(principal, change_request, comment), None
    refusal: ServiceError | None = None
    with transaction.atomic():
        # Tenant row first, then the request: the order every writer of this tenant takes.
        tenant, config = lock_config(change_request.tenant_id)
        change_request = _lock_pending(change_request.pk)
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
            _close(change_request, ChangeRequestStatus.STALE, principal, comment)
            change_request.status_reason = "revision_moved"
            change_request.save(update_fields=["status_reason"])
            _send_review_event(
                signals.change_request_stale, "change_request.stale", change_request, principal
            )
        elif change_request.apply_at is not None and change_request.apply_at > timezone.now():
            # Approved for later: the worker applies it at apply_at, re-checking everything.
            _close(change_request, ChangeRequestStatus.SCHEDULED, principal, comment)
            _send_review_event(
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
                _close(change_request, ChangeRequestStatus.APPLIED, principal, comment)
                _send_review_event(
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


def _approve_policy(
    principal: Principal, change_request: ConfigChangeRequest, comment: str
) -> ConfigChangeRequest:
    policy = change_request.policy or {}
    value = policy.get("require_activation_approval")
    moved: Conflict | None = None
    with transaction.atomic():
        if change_request.tenant_id is None:
            row = platform_settings_row(lock=True)
            change_request = _lock_pending(change_request.pk)
            current = row.require_activation_approval
        else:
            tenant = Tenant.objects.select_for_update().get(pk=change_request.tenant_id)
            change_request = _lock_pending(change_request.pk)
            current = tenant.require_activation_approval
        if "from" in policy and current != policy["from"]:
            moved = Conflict(
                "The approval policy changed since this request was filed; request it again.",
                code="stale_change_request",
                errors=[
                    finding(
                        "stale_change_request",
                        "",
                        f"Requested from {policy['from']!r}, now {current!r}.",
                    )
                ],
            )
            end_stale(
                change_request,
                reason="policy_moved",
                actor=principal.username,
                what="not applied: the policy changed meanwhile",
            )
        else:
            if change_request.tenant_id is None:
                platform_settings_apply(
                    actor=principal.username,
                    row=row,
                    value=bool(value),
                    change_request_id=str(change_request.pk),
                )
            else:
                tenant_policy_apply(
                    actor=principal.username,
                    tenant=tenant,
                    value=value,
                    change_request_id=str(change_request.pk),
                )
            _close(change_request, ChangeRequestStatus.APPLIED, principal, comment)
            _send_review_event(
                signals.change_request_approved,
                "change_request.approved",
                change_request,
                principal,
            )
    if moved is not None:
        moved.already_audited = True
        raise moved
    return change_request


def change_request_reject(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> ConfigChangeRequest:
    """Any ADMIN of the request's scope but its requester (who may cancel it instead); a
    platform ADMIN may reject any request, a scheduled one included."""
    change_request = _change_request_visible(principal, change_request_id)
    with _refusal_recorded(principal, change_request, "reject"):
        _require_reviewer(principal, change_request)
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
    change_request = _change_request_visible(principal, change_request_id)
    with _refusal_recorded(principal, change_request, "cancel"):
        if not same_identity(change_request.requested_by, principal.username):
            if not _may_review(principal, change_request):
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
        change_request = _lock_pending(change_request.pk, also=(ChangeRequestStatus.SCHEDULED,))
        _close(change_request, status, principal, comment)
        _send_review_event(signal, action, change_request, principal)
    return change_request


@dataclass(frozen=True)
class ReviewActions:
    is_requester: bool
    approve: bool
    reject: bool
    cancel: bool


def change_request_actions(
    *, principal: Principal, change_request: ConfigChangeRequest
) -> ReviewActions:
    """What `principal` may do with the request now: the rules the review services enforce, so
    that a page offers exactly the actions that would succeed."""
    requester = same_identity(change_request.requested_by, principal.username)
    reviewer = _may_review(principal, change_request) and not requester
    pending = change_request.status == ChangeRequestStatus.PENDING
    still_open = pending or change_request.status == ChangeRequestStatus.SCHEDULED
    return ReviewActions(
        is_requester=requester,
        approve=reviewer and pending,
        reject=reviewer and still_open,
        cancel=requester and still_open,
    )


def _change_request_visible(principal: Principal, change_request_id: Any) -> ConfigChangeRequest:
    missing = NotFound(
        f"Change request {change_request_id} not found.", code="change_request_not_found"
    )
    try:
        change_request = ConfigChangeRequest.objects.select_related(
            "domain_pack", "tenant_pack"
        ).get(pk=change_request_id)
    except (ConfigChangeRequest.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise missing from None
    if change_request.tenant_id is None:
        # The global setting's requests: platform principals only.
        if not principal.is_platform:
            raise missing
    elif not principal.can_read_tenant(change_request.tenant_id):
        raise missing
    return change_request


def _may_review(principal: Principal, change_request: ConfigChangeRequest) -> bool:
    if change_request.tenant_id is None:
        return principal.is_platform_admin
    return principal.can_write_tenant(change_request.tenant_id)


def _require_reviewer(principal: Principal, change_request: ConfigChangeRequest) -> None:
    """A global request: a platform ADMIN; a tenant's: a platform ADMIN or an ADMIN of it."""
    if change_request.tenant_id is None:
        require_platform_admin(principal)
    else:
        tenant_for_write(principal=principal, tenant_id=change_request.tenant_id)


class _refusal_recorded:
    """Record a refused review (403, 409) as an audit row of its own transaction, so it survives
    the refusal. Only for a request the principal may see (a 404 records nothing: an audit row in
    the request's tenant would tell its readers about a probe from elsewhere, and one in the
    prober's would leak the request); the row lands in the request's own tenant."""

    def __init__(self, principal: Principal, change_request: ConfigChangeRequest, verb: str):
        self.principal, self.change_request, self.verb = principal, change_request, verb

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if (
            isinstance(exc, ServiceError)
            and exc.status in (403, 409)
            and not getattr(exc, "already_audited", False)
        ):
            _record_refusal(self.principal, self.change_request, self.verb, exc)
        return False


def _record_refusal(principal, change_request, verb: str, refusal: ServiceError) -> None:
    with transaction.atomic():
        send_event(
            signals.change_request_review_refused,
            ConfigChangeRequest,
            DomainEvent(
                action="change_request.review_refused",
                actor=principal.username,
                summary=f"{verb.title()} of the change request for {pair_text(change_request)} "
                f"({change_request.tenant_id or 'platform'}) refused: {refusal.code}",
                tenant_id=change_request.tenant_id,
                object_type="config_change_request",
                object_id=str(change_request.pk),
                domain=change_request.domain,
                details={
                    "attempted": verb,
                    "code": refusal.code,
                    "status": refusal.status,
                    "detail": refusal.detail,
                    "change_request_status": ConfigChangeRequest.objects.filter(
                        pk=change_request.pk
                    )
                    .values_list("status", flat=True)
                    .first(),
                },
            ),
        )


def _lock_pending(pk, also: tuple[str, ...] = ()) -> ConfigChangeRequest:
    change_request = (
        ConfigChangeRequest.objects.select_for_update(of=("self",))
        .select_related("domain_pack", "tenant_pack")
        .get(pk=pk)
    )
    if change_request.status not in (ChangeRequestStatus.PENDING, *also):
        raise Conflict(
            f"Change request {pk} is {change_request.status}, not PENDING.",
            code="not_pending",
            errors=[finding("not_pending", "", f"Status is {change_request.status}.")],
        )
    return change_request


def _close(change_request, status: str, principal: Principal, comment: str) -> None:
    change_request.status = status
    change_request.reviewed_by = principal.username
    change_request.reviewed_at = timezone.now()
    change_request.review_comment = comment or ""
    change_request.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])


def _send_review_event(signal, action: str, change_request, principal: Principal) -> None:
    word = action.split(".")[1]
    send_event(
        signal,
        ConfigChangeRequest,
        DomainEvent(
            action=action,
            actor=principal.username,
            summary=f"Change request for {pair_text(change_request)} "
            f"({change_request.tenant_id or 'platform'}) {word}",
            tenant_id=change_request.tenant_id,
            object_type="config_change_request",
            object_id=str(change_request.pk),
            domain=change_request.domain,
            version=change_request.domain_pack.version if change_request.domain_pack else "",
            checksum=change_request.domain_pack.checksum if change_request.domain_pack else "",
            details={"change_request": change_request_snapshot(change_request)},
        ),
    )
