"""How governance answers the apps below it (docs/architecture.md, "Hooks and signals across
layers"), connected in GovernanceConfig.ready: role grants that need a second ADMIN and
deactivated requesters (governance.services.access), and the veto on deprecating a pack that a
change request waiting for approval or for its time names (409 `pack_pending_approval`)."""

from governance.selectors import open_requests_naming
from governance.services.access import access_request_create, requester_gone
from identity import hooks as identity_hooks
from onboarding.errors import Conflict, finding
from packs import hooks as pack_hooks
from packs.models import DomainPack, PackStatus, TenantPack
from packs.services import pack_label


def refuse_deprecating_requested_pack(sender, pack, before: str, after: str, **kwargs) -> None:
    """A request waiting for approval (or for its time) would otherwise stay PENDING naming a
    pack that can no longer be activated. The pack row is locked (FOR UPDATE) by the sender, and
    a request is created under a lock of the same row, so the two cannot cross."""
    if after != PackStatus.DEPRECATED:
        return
    waiting = open_requests_naming(pack)
    if waiting:
        raise Conflict(
            f"{pack_label(pack)} is named by {len(waiting)} change request(s) awaiting approval "
            "or their scheduled time; reject or cancel them first.",
            code="pack_pending_approval",
            errors=[
                finding(
                    "pack_pending_approval",
                    "/status",
                    f"Change request {pk} ({status}) for tenant {tenant_id}.",
                )
                for pk, tenant_id, status in waiting
            ],
            extra={"change_requests": [str(pk) for pk, _, _ in waiting]},
        )


def connect() -> None:
    # Granting ADMIN under four-eyes, and a deactivated requester (DESIGN §15).
    identity_hooks.admin_grant_review.answer(access_request_create)
    identity_hooks.requester_gone.connect(
        requester_gone, dispatch_uid="governance.requester_gone", weak=False
    )
    for model in (DomainPack, TenantPack):
        pack_hooks.pack_status_changing.connect(
            refuse_deprecating_requested_pack,
            sender=model,
            dispatch_uid=f"governance.pack_pending_approval.{model.__name__}",
        )
