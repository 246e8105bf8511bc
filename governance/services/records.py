"""How a change request is described: in audit rows, webhook events and API answers."""

from typing import Any

from runtime_config.models import ConfigChangeRequest

_POLICY_WORDS = {None: "follow the global setting", True: "required", False: "not required"}


def policy_text(policy: dict[str, Any] | None) -> str:
    policy = policy or {}
    word = _POLICY_WORDS.get(policy.get("require_activation_approval"), "?")
    if policy.get("scope") == "global":
        return f"global activation approval → {word}"
    return f"activation approval → {word}"


def approvers_text(tenant_id: str | None) -> str:
    """Who may approve a request of this scope, in the words a confirmation shows: a tenant's
    request by an ADMIN of the tenant or a platform ADMIN, never its requester; the global
    setting's by a platform ADMIN (`reviews.may_review`)."""
    if not tenant_id:
        return "another platform ADMIN"
    return f"another ADMIN of {tenant_id} or a platform ADMIN"


def access_text(policy: dict[str, Any] | None) -> str:
    access = (policy or {}).get("access") or {}
    scope = access.get("tenant_id") or "the platform"
    return f"{access.get('role', '?')} on {scope} for {access.get('username', '?')}"


def pair_text(change_request: ConfigChangeRequest) -> str:
    if change_request.kind == "policy":
        return policy_text(change_request.policy)
    if change_request.kind == "access":
        return access_text(change_request.policy)
    domain_version = change_request.domain_pack.version if change_request.domain_pack else "-"
    tenant_version = change_request.tenant_pack.version if change_request.tenant_pack else "-"
    return f"{change_request.domain} {domain_version} + tenant pack {tenant_version}"


def change_request_snapshot(change_request: ConfigChangeRequest) -> dict[str, Any]:
    domain_pack, tenant_pack = change_request.domain_pack, change_request.tenant_pack
    return {
        "id": str(change_request.pk),
        "status": change_request.status,
        "kind": change_request.kind,
        "tenant_id": change_request.tenant_id,
        "domain": change_request.domain,
        "domain_pack_id": change_request.domain_pack_id,
        "domain_pack_version": domain_pack.version if domain_pack else None,
        "domain_pack_checksum": domain_pack.checksum if domain_pack else None,
        "tenant_pack_id": change_request.tenant_pack_id,
        "tenant_pack_version": tenant_pack.version if tenant_pack else None,
        "tenant_pack_checksum": tenant_pack.checksum if tenant_pack else None,
        "base_revision": change_request.base_revision,
        "requested_by": change_request.requested_by,
        "requested_at": change_request.requested_at.isoformat()
        if change_request.requested_at
        else None,
        "reviewed_by": change_request.reviewed_by or None,
        "reviewed_at": change_request.reviewed_at.isoformat()
        if change_request.reviewed_at
        else None,
        "comment": change_request.comment,
        "review_comment": change_request.review_comment,
        "policy": change_request.policy,
        "apply_at": change_request.apply_at.isoformat() if change_request.apply_at else None,
        "status_reason": change_request.status_reason,
    }
