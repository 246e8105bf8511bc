"""Four-eyes over who holds ADMIN (DESIGN §15): granting ADMIN while approval applies to the
scope (the tenant's policy, or the global setting for a platform-wide grant) is a change request
(`kind: access`) that another ADMIN of the scope approves, so nobody mints a second identity to
approve their own changes. Answers identity.hooks.admin_grant_review; `approve_access` is called
by change_request_approve. Deactivating a user ends the requests they filed STALE
(`requester_gone`)."""

from django.db import transaction

from governance import signals
from governance.services.pending import end_stale
from governance.services.records import change_request_snapshot, pair_text
from governance.services.reviews import close_request, lock_pending, send_review_event
from identity.services import role_binding_apply
from onboarding.errors import Conflict, NotFound
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest, TenantActiveConfig
from runtime_config.services.targets import KIND_ACCESS
from tenants.models import Tenant
from tenants.policy import approval_applies, global_approval_required, share_platform_settings

REQUESTER_GONE = "requester_gone"


def access_request_create(*, principal: Principal, user, role: str, tenant: Tenant | None):
    """The change request for granting `role` to `user` on `tenant` (None: platform-wide), or
    None when four-eyes does not apply there. Runs in the grant's transaction, which holds the
    tenant row's lock; the global setting is held FOR SHARE."""
    if tenant is None or tenant.require_activation_approval is None:
        share_platform_settings()
    applies = approval_applies(tenant) if tenant is not None else global_approval_required()
    if not applies:
        return None
    tenant_id = tenant.tenant_id if tenant is not None else None
    config = TenantActiveConfig.objects.filter(tenant_id=tenant_id).first() if tenant else None
    change_request = ConfigChangeRequest.objects.create(
        tenant=tenant,
        domain="",
        base_revision=config.revision if config else 0,
        kind=KIND_ACCESS,
        policy={"access": {"username": user.get_username(), "role": role, "tenant_id": tenant_id}},
        requested_by=principal.username,
    )
    send_event(
        signals.config_activation_requested,
        ConfigChangeRequest,
        DomainEvent(
            action="change_request.created",
            actor=principal.username,
            summary=f"Grant of {pair_text(change_request)} requested "
            "(awaiting approval by a second ADMIN)",
            tenant_id=tenant_id,
            object_type="config_change_request",
            object_id=str(change_request.pk),
            details={"change_request": change_request_snapshot(change_request)},
        ),
    )
    return change_request


def approve_access(
    principal: Principal, change_request: ConfigChangeRequest, comment: str
) -> ConfigChangeRequest:
    access = (change_request.policy or {}).get("access") or {}
    gone: Conflict | NotFound | None = None
    with transaction.atomic():
        if change_request.tenant_id is not None:
            Tenant.objects.select_for_update().get(pk=change_request.tenant_id)
        change_request = lock_pending(change_request.pk)
        try:
            with transaction.atomic():
                role_binding_apply(
                    actor=principal,
                    username=access.get("username", ""),
                    role=access.get("role", ""),
                    tenant_id=access.get("tenant_id"),
                    change_request_id=str(change_request.pk),
                )
        except (Conflict, NotFound) as problem:
            # The grantee was deactivated or removed meanwhile: the request ends here.
            gone = problem
            end_stale(
                change_request,
                reason=problem.code,
                actor=principal.username,
                what=f"not applied ({problem.code})",
            )
        else:
            close_request(change_request, ChangeRequestStatus.APPLIED, principal, comment)
            send_review_event(
                signals.change_request_approved,
                "change_request.approved",
                change_request,
                principal,
            )
    if gone is not None:
        gone.already_audited = True
        raise gone
    return change_request


def requester_gone(sender, username: str, actor: str, **kwargs) -> None:
    """The deactivated user's open requests end STALE (`requester_gone`), in the deactivation's
    transaction: nobody approves a change for someone who left."""
    waiting = (
        ConfigChangeRequest.objects.select_for_update(of=("self",))
        .select_related("domain_pack", "tenant_pack")
        .filter(
            requested_by=username,
            status__in=(ChangeRequestStatus.PENDING, ChangeRequestStatus.SCHEDULED),
        )
        .order_by("requested_at")
    )
    for change_request in waiting:
        end_stale(
            change_request,
            reason=REQUESTER_GONE,
            actor=actor,
            what="ended: its requester was deactivated",
        )
