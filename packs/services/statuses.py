"""A pack's lifecycle (DESIGN §7): DRAFT, ACTIVE, DEPRECATED, and the `pack.status_changed` event
of every move, explicit or by an activation. The apps above may refuse a move (packs.hooks)."""

from typing import Any

from django.db import transaction

from onboarding.errors import (
    Conflict,
    InvalidInput,
    finding,
)
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal, require_platform_admin
from packs import hooks, signals
from packs.models import ALLOWED_TRANSITIONS, DomainPack, PackStatus, TenantPack
from packs.selectors import (
    domain_pack_get,
    tenant_pack_get,
)
from packs.services.store import pack_label
from tenants.access import tenant_for_write


def pack_set_status(
    *,
    principal: Principal,
    pack_type: str,
    status: str,
    version: str,
    domain: str | None = None,
    tenant_id: str | None = None,
) -> DomainPack | TenantPack:
    if status not in PackStatus.values:
        raise InvalidInput(
            f"status must be one of {', '.join(PackStatus.values)}.",
            code="invalid_status",
            errors=[finding("invalid_status", "/status", f"Unknown status {status!r}.")],
        )
    with transaction.atomic():
        pack = _pack_for_write(principal, pack_type, version, domain, tenant_id)
        before = pack.status
        if before == status:
            return pack
        if (before, status) not in ALLOWED_TRANSITIONS:
            raise Conflict(
                f"A {before} pack cannot become {status}.",
                code="invalid_transition",
                errors=[finding("invalid_transition", "/status", f"{before} → {status}")],
            )
        # The apps above may refuse (a pack in use, one a waiting request names): packs.hooks.
        hooks.pack_status_changing.send(sender=type(pack), pack=pack, before=before, after=status)
        pack.status = status
        pack.save(update_fields=["status"])
        send_pack_status_changed(principal=principal, pack=pack, before=before)
    return pack


def send_pack_status_changed(
    *,
    principal: Principal,
    pack: DomainPack | TenantPack,
    before: str,
    cause: dict[str, Any] | None = None,
) -> None:
    """The `pack.status_changed` event of a status already saved, inside the caller's
    transaction: an explicit change, or the DRAFT → ACTIVE promotion of an activation (`cause`
    then names the activation)."""
    pack_type = pack.pack_type
    details: dict[str, Any] = {"before": {"status": before}, "after": {"status": pack.status}}
    if cause:
        details["cause"] = cause
    send_event(
        signals.pack_status_changed,
        type(pack),
        DomainEvent(
            action="pack.status_changed",
            actor=principal.username,
            summary=f"{pack_type.title()} pack {pack_label(pack)} {before} → {pack.status}"
            + (f" ({cause['kind']})" if cause and cause.get("kind") else ""),
            tenant_id=getattr(pack, "tenant_id", None),
            object_type=f"{pack_type}_pack",
            object_id=str(pack.pk),
            domain=pack.domain,
            version=pack.version,
            checksum=pack.checksum,
            details=details,
        ),
    )


def _pack_for_write(principal, pack_type, version, domain, tenant_id):
    if pack_type == "domain":
        pack = domain_pack_get(principal=principal, domain=domain or "", version=version)
        require_platform_admin(principal)
        return DomainPack.objects.select_for_update().get(pk=pack.pk)
    if pack_type == "tenant":
        tenant_for_write(principal=principal, tenant_id=tenant_id or "")
        pack = tenant_pack_get(principal=principal, tenant_id=tenant_id or "", version=version)
        return TenantPack.objects.select_for_update().get(pk=pack.pk)
    raise InvalidInput(f"Unknown pack type {pack_type!r}.", code="invalid_pack_type")
