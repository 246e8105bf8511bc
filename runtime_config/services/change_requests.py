"""Four-eyes approval of activations (DESIGN §8): the policy that decides whether a change waits,
and the change request's life — created PENDING, then approved (applied, or STALE when the
configuration moved meanwhile), rejected or cancelled."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from onboarding.errors import Conflict, Forbidden, NotFound, finding
from onboarding.events import DomainEvent, send_event
from runtime_config import signals
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest, TenantActiveConfig
from runtime_config.services.apply import apply_target, lock_config
from runtime_config.services.records import change_request_snapshot, pair_text
from runtime_config.services.scheduling import schedule
from runtime_config.services.targets import Target
from tenants.access import tenant_for_write
from tenants.identity import same_identity
from tenants.models import Tenant
from tenants.principals import Principal


def activation_requires_approval(tenant: Tenant) -> bool:
    if tenant.require_activation_approval is not None:
        return bool(tenant.require_activation_approval)
    return bool(settings.PACK_ACTIVATION_REQUIRES_APPROVAL)


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
) -> tuple[ConfigChangeRequest, TenantActiveConfig]:
    change_request = _change_request_for_review(principal, change_request_id)
    if same_identity(change_request.requested_by, principal.username):
        raise Forbidden(
            "A change request must be approved by someone other than its requester.",
            code="self_approval",
        )
    stale = False
    with transaction.atomic():
        change_request = _lock_pending(change_request.pk)
        tenant, config = lock_config(change_request.tenant_id)
        revision = config.revision if config else 0
        if revision != change_request.base_revision:
            _close(change_request, ChangeRequestStatus.STALE, principal, comment)
            _send_review_event(
                signals.change_request_stale, "change_request.stale", change_request, principal
            )
            stale = True
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
            config = (
                apply_target(
                    principal=principal,
                    tenant=tenant,
                    target=target,
                    comment=change_request.comment,
                    kind=change_request.kind,
                    change_request=change_request,
                )
                or config
            )
            _close(change_request, ChangeRequestStatus.APPLIED, principal, comment)
            _send_review_event(
                signals.change_request_approved,
                "change_request.approved",
                change_request,
                principal,
            )
    if stale:
        raise Conflict(
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
    return change_request, config


def change_request_reject(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> ConfigChangeRequest:
    change_request = _change_request_for_review(principal, change_request_id)
    with transaction.atomic():
        change_request = _lock_pending(change_request.pk)
        _close(change_request, ChangeRequestStatus.REJECTED, principal, comment)
        _send_review_event(
            signals.change_request_rejected, "change_request.rejected", change_request, principal
        )
    return change_request


def change_request_cancel(
    *, principal: Principal, change_request_id: Any, comment: str = ""
) -> ConfigChangeRequest:
    change_request = _change_request_visible(principal, change_request_id)
    is_requester = same_identity(change_request.requested_by, principal.username)
    if not is_requester and not principal.can_write_tenant(change_request.tenant_id):
        raise Forbidden(
            "Only the requester or an ADMIN of the tenant may cancel a change request.",
            code="admin_required",
        )
    with transaction.atomic():
        # A scheduled activation can be cancelled until the worker applies it.
        change_request = _lock_pending(change_request.pk, also=(ChangeRequestStatus.SCHEDULED,))
        _close(change_request, ChangeRequestStatus.CANCELLED, principal, comment)
        _send_review_event(
            signals.change_request_cancelled,
            "change_request.cancelled",
            change_request,
            principal,
        )
    return change_request


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
    if not principal.can_read_tenant(change_request.tenant_id):
        raise missing
    return change_request


def _change_request_for_review(principal: Principal, change_request_id: Any):
    change_request = _change_request_visible(principal, change_request_id)
    tenant_for_write(principal=principal, tenant_id=change_request.tenant_id)
    return change_request


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
            f"({change_request.tenant_id}) {word}",
            tenant_id=change_request.tenant_id,
            object_type="config_change_request",
            object_id=str(change_request.pk),
            domain=change_request.domain,
            version=change_request.domain_pack.version if change_request.domain_pack else "",
            checksum=change_request.domain_pack.checksum if change_request.domain_pack else "",
            details={"change_request": change_request_snapshot(change_request)},
        ),
    )
