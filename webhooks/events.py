"""The webhook event catalogue (DESIGN §14) and how a domain event becomes one."""

from typing import Any

from onboarding.events import DomainEvent
from onboarding.redaction import redact_text

ROLLOUT_EVENT_TYPES: tuple[str, ...] = tuple(
    f"rollout.{what}"
    for what in (
        "created",
        "started",
        "wave_applied",
        "canary_started",
        "canary_promoted",
        "paused",
        "resumed",
        "advanced",
        "alarm",
        "halted",
        "aborted",
        "rolled_back",
        "completed",
        "cancelled",
    )
)

EVENT_TYPES: tuple[str, ...] = (
    "pack.imported",
    "pack.import_rejected",
    "config.activated",
    "config.rolled_back",
    "change_request.created",
    "change_request.approved",
    "change_request.rejected",
    "change_request.stale",
    "change_request.cancelled",
    "change_request.scheduled",
    "change_request.applied",
    "tenant.status_changed",
    "user.created",
    "user.updated",
    "user.deactivated",
    "role.granted",
    "role.revoked",
    "token.created",
    "token.revoked",
    "login.locked",
    # Fleet rollouts (DESIGN §16): every state change of a rollout.
    *ROLLOUT_EVENT_TYPES,
)

# Audit action → webhook event type. Actions not named here are not published.
_BY_ACTION = {
    "pack.imported": "pack.imported",
    "pack.import_rejected": "pack.import_rejected",
    "config.activated": "config.activated",
    "config.activation_requested": "change_request.created",
    "change_request.created": "change_request.created",
    "change_request.approved": "change_request.approved",
    "change_request.rejected": "change_request.rejected",
    "change_request.stale": "change_request.stale",
    "change_request.cancelled": "change_request.cancelled",
    "change_request.scheduled": "change_request.scheduled",
    "change_request.applied": "change_request.applied",
    "tenant.status_changed": "tenant.status_changed",
    "user.created": "user.created",
    "user.updated": "user.updated",
    "user.deactivated": "user.deactivated",
    "role.granted": "role.granted",
    "role.revoked": "role.revoked",
    "token.created": "token.created",
    "token.revoked": "token.revoked",
    "login.locked": "login.locked",
    **{event_type: event_type for event_type in ROLLOUT_EVENT_TYPES},
}

# A receiver is an HTTP endpoint, not an archive: details larger than this are left out (the
# audit row keeps them) and the event says so.
MAX_DETAILS_BYTES = 64 * 1024


def event_type_for(event: DomainEvent) -> str | None:
    event_type = _BY_ACTION.get(event.action)
    if event_type == "config.activated" and (event.details or {}).get("kind") == "rollback":
        return "config.rolled_back"
    return event_type


def event_data(event: DomainEvent, details: dict[str, Any], details_size: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": event.action,
        "actor": event.actor,
        "summary": redact_text(event.summary),
        "object_type": event.object_type,
        "object_id": str(event.object_id or ""),
        "domain": event.domain,
        "version": event.version,
        "checksum": event.checksum,
    }
    if details_size > MAX_DETAILS_BYTES:
        data["details"] = {}
        data["details_omitted"] = True
    else:
        data["details"] = details
    return data
