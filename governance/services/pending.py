"""One PENDING request per tenant (DESIGN §14): a new request ends the older one STALE with the
reason `superseded`. Activations and rollbacks supersede each other; a policy request supersedes
only an older policy request of the same scope (an activation must not silently withdraw a
request to change who approves, nor the reverse). The caller holds the tenant row's lock (or the
platform settings row's, for the global scope), so two concurrent requests cannot both stay
PENDING."""

from typing import Any

from governance import signals
from governance.services.records import change_request_snapshot, pair_text
from onboarding.events import DomainEvent, send_event
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest
from runtime_config.services.targets import KIND_ACCESS, KIND_POLICY

SUPERSEDED = "superseded"


def supersede_pending(
    *, tenant_id: str | None, kind: str, actor: str, keep: Any = None
) -> list[ConfigChangeRequest]:
    """End STALE `superseded` every PENDING request of the scope but `keep` (the new one).
    Access requests (role grants) neither supersede nor are superseded: each names a person."""
    if kind == KIND_ACCESS:
        return []
    older = (
        ConfigChangeRequest.objects.select_for_update(of=("self",))
        .filter(status=ChangeRequestStatus.PENDING)
        .exclude(pk=keep)
    )
    older = older.filter(tenant_id=tenant_id) if tenant_id else older.filter(tenant__isnull=True)
    older = (
        older.filter(kind=KIND_POLICY)
        if kind == KIND_POLICY
        else older.exclude(kind__in=(KIND_POLICY, KIND_ACCESS))
    )
    ended = []
    for change_request in older.select_related("domain_pack", "tenant_pack").order_by(
        "requested_at"
    ):
        end_stale(
            change_request, reason=SUPERSEDED, actor=actor, what="superseded by a newer request"
        )
        ended.append(change_request)
    return ended


def end_stale(change_request: ConfigChangeRequest, *, reason: str, actor: str, what: str) -> None:
    """End a (locked) request STALE with its reason, and record it (audit row, webhook)."""
    change_request.status = ChangeRequestStatus.STALE
    change_request.status_reason = reason[:2000]
    change_request.save(update_fields=["status", "status_reason"])
    send_event(
        signals.change_request_stale,
        ConfigChangeRequest,
        DomainEvent(
            action="change_request.stale",
            actor=actor,
            summary=f"Change request for {pair_text(change_request)} "
            f"({change_request.tenant_id or 'platform'}) {what}",
            tenant_id=change_request.tenant_id,
            object_type="config_change_request",
            object_id=str(change_request.pk),
            domain=change_request.domain,
            version=change_request.domain_pack.version if change_request.domain_pack else "",
            checksum=change_request.domain_pack.checksum if change_request.domain_pack else "",
            details={"change_request": change_request_snapshot(change_request), "reason": reason},
        ),
    )
