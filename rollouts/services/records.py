"""How a rollout is shown (API, pages, audit details) and how its state changes are recorded:
one `rollout.*` domain event per change, sent inside the changing transaction (audit row and
webhook event commit with it)."""

from typing import Any

from onboarding.events import DomainEvent, send_event
from rollouts import signals
from rollouts.models import Rollout, RolloutTenant, RolloutWave


def rollout_summary(rollout: Rollout) -> dict[str, Any]:
    return {
        "id": str(rollout.id),
        "status": rollout.status,
        "domain": rollout.domain,
        "domain_pack_version": rollout.domain_pack.version,
        "bake_seconds": rollout.bake_seconds,
        "max_skipped": rollout.max_skipped,
        "auto_rollback": rollout.auto_rollback,
        "guards": rollout.guards,
        "canary": rollout.canary,
        "readings": rollout.readings,
        "next_wave_at": rollout.next_wave_at.isoformat() if rollout.next_wave_at else None,
        "status_reason": rollout.status_reason,
        "change_request_id": str(rollout.change_request_id) if rollout.change_request_id else None,
        "created_by": rollout.created_by,
        "created_at": rollout.created_at.isoformat() if rollout.created_at else None,
        "comment": rollout.comment,
    }


def wave_data(wave: RolloutWave, members: list[RolloutTenant]) -> dict[str, Any]:
    return {
        "index": wave.index,
        "number": wave.index + 1,
        "percent": wave.percent,
        "status": wave.status,
        "applied_at": wave.applied_at.isoformat() if wave.applied_at else None,
        "moved": wave.moved,
        "skipped": wave.skipped,
        "duration_ms": wave.duration_ms,
        "tenants": [tenant_data(member) for member in members],
    }


def tenant_data(member: RolloutTenant) -> dict[str, Any]:
    return {
        "tenant_id": member.tenant_id,
        "status": member.status,
        "revision_before": member.revision_before,
        "revision_after": member.revision_after,
        "restored_revision": member.restored_revision,
        "skip_reason": member.skip_reason,
    }


def rollout_event(rollout: Rollout, what: str, actor: str, summary: str, **details: Any) -> None:
    """`rollout.<what>`: one audit row and one webhook event, in the caller's transaction."""
    send_event(
        signals.rollout_changed,
        Rollout,
        DomainEvent(
            action=f"rollout.{what}",
            actor=actor,
            summary=f"Rollout {rollout.id} of {rollout.domain} {rollout.domain_pack.version}: "
            f"{summary}",
            object_type="rollout",
            object_id=str(rollout.id),
            domain=rollout.domain,
            version=rollout.domain_pack.version,
            checksum=rollout.domain_pack.checksum,
            details={"rollout": rollout_summary(rollout), **details},
        ),
    )
