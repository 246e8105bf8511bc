"""Who may review a change request and what a review does to its row: visibility (404 for a
request the principal may not see), the reviewer's scope, the actions a page offers, the lock
and close steps every review takes, its event, and a refused review recorded in a transaction of
its own."""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from governance import signals
from governance.services.records import change_request_snapshot, pair_text
from onboarding.errors import Conflict, NotFound, ServiceError, finding
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal, require_platform_admin
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest
from tenants.access import tenant_for_write
from tenants.identity import same_identity


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
    reviewer = may_review(principal, change_request) and not requester
    pending = change_request.status == ChangeRequestStatus.PENDING
    still_open = pending or change_request.status == ChangeRequestStatus.SCHEDULED
    return ReviewActions(
        is_requester=requester,
        approve=reviewer and pending,
        reject=reviewer and still_open,
        cancel=requester and still_open,
    )


def change_request_visible(principal: Principal, change_request_id: Any) -> ConfigChangeRequest:
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


def may_review(principal: Principal, change_request: ConfigChangeRequest) -> bool:
    if change_request.tenant_id is None:
        return principal.is_platform_admin
    return principal.can_write_tenant(change_request.tenant_id)


def require_reviewer(principal: Principal, change_request: ConfigChangeRequest) -> None:
    """A global request: a platform ADMIN; a tenant's: a platform ADMIN or an ADMIN of it."""
    if change_request.tenant_id is None:
        require_platform_admin(principal)
    else:
        tenant_for_write(principal=principal, tenant_id=change_request.tenant_id)


class refusal_recorded:
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


def lock_pending(pk, also: tuple[str, ...] = ()) -> ConfigChangeRequest:
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


def close_request(change_request, status: str, principal: Principal, comment: str) -> None:
    change_request.status = status
    change_request.reviewed_by = principal.username
    change_request.reviewed_at = timezone.now()
    change_request.review_comment = comment or ""
    change_request.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])


def send_review_event(signal, action: str, change_request, principal: Principal) -> None:
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
