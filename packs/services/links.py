"""Playbook links (DESIGN §7): a playbook of the tenant's packs linked to a tenant and domain,
following its active domain pack version or pinned to one; refused with every reason when
incompatible."""

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from onboarding.errors import (
    Conflict,
    NotFound,
    finding,
)
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal
from packs import hooks, playbooks, signals
from packs.models import DomainPack, PlaybookLink
from packs.selectors import (
    domain_pack_get,
    playbook_link_get,
)
from tenants.access import tenant_for_write


def _link_exists(tenant_id: str, domain: str, playbook_id: str) -> Conflict:
    message = f"Playbook {playbook_id} is already linked to {tenant_id} for {domain}."
    return Conflict(
        message,
        code="link_exists",
        errors=[finding("link_exists", "/playbook_id", message)],
    )


def playbook_link_create(
    *,
    principal: Principal,
    tenant_id: str,
    playbook_id: str,
    domain: str | None = None,
    domain_pack_version: str | None = None,
):
    """Link a playbook to a tenant and domain, following the tenant's active domain pack version
    or pinned to `domain_pack_version`. An incompatible playbook is refused with every reason."""
    with transaction.atomic():
        tenant = tenant_for_write(principal=principal, tenant_id=tenant_id)
        # Lock what activation locks (DESIGN §8), in its order: the active-config row, else the
        # tenant row. A concurrent activation then checks this link, or this waits for it.
        active = hooks.active_config(tenant_id=tenant.tenant_id, lock=True)
        if active is None:
            tenant_for_write(principal=principal, tenant_id=tenant_id, lock=True)
        domain = domain or (active.domain if active is not None else None)
        if not domain:
            raise playbooks.domain_required()
        pinned = None
        if domain_pack_version:
            pinned = domain_pack_get(
                principal=principal, domain=domain, version=domain_pack_version
            )
        pair = playbooks.pair_for_tenant(tenant_id=tenant.tenant_id, domain=domain, active=active)
        base = pinned or pair.domain_pack
        entries = playbooks.registry_for_pair(base, pair.tenant_pack)
        playbook = playbooks.find_playbook(entries, playbook_id)
        if playbook is None:
            reason = playbooks.playbook_not_found(playbook_id, base, pair.tenant_pack)
            raise NotFound(reason["message"], code="playbook_not_found", errors=[reason])
        links = PlaybookLink.objects.filter(tenant=tenant, domain=domain)
        if links.filter(playbook_id=playbook_id).exists():
            raise _link_exists(tenant.tenant_id, domain, playbook_id)
        reasons = playbooks.compatibility_reasons(
            playbook, domain_pack=base, tenant_pack=pair.tenant_pack
        )
        if reasons:
            raise Conflict(
                f"Playbook {playbook_id} is incompatible with the tenant's packs.",
                code="incompatible_playbook",
                errors=reasons,
            )
        try:
            with transaction.atomic():
                link = PlaybookLink.objects.create(
                    tenant=tenant,
                    domain=domain,
                    playbook_id=playbook_id,
                    domain_pack=pinned,
                    created_by=principal.username,
                )
        except IntegrityError:
            raise _link_exists(tenant.tenant_id, domain, playbook_id) from None
        _send_link_event(
            signals.playbook_linked, "playbook.linked", principal, link, base, playbook
        )
    return link


def playbook_link_delete(*, principal: Principal, link_id: int) -> None:
    with transaction.atomic():
        link = playbook_link_get(principal=principal, link_id=link_id, lock=True)
        tenant_for_write(principal=principal, tenant_id=link.tenant_id)
        pinned = link.domain_pack
        base = (
            pinned
            or playbooks.pair_for_tenant(tenant_id=link.tenant_id, domain=link.domain).domain_pack
        )
        event_link = _LinkSnapshot(link.pk, link.tenant_id, link.domain, link.playbook_id, pinned)
        link.delete()
        _send_link_event(
            signals.playbook_unlinked, "playbook.unlinked", principal, event_link, base, None
        )


@dataclass(frozen=True)
class _LinkSnapshot:
    pk: int
    tenant_id: str
    domain: str
    playbook_id: str
    domain_pack: DomainPack | None


def _send_link_event(signal, action, principal, link, domain_pack, playbook) -> None:
    pinned = link.domain_pack.version if link.domain_pack is not None else None
    details: dict[str, Any] = {
        "link_id": link.pk,
        "playbook_id": link.playbook_id,
        "pinned_version": pinned,
    }
    if playbook is not None:
        details.update(
            source=playbook.source,
            source_version=playbook.pack_version,
            exception_type=playbook.exception_type,
            tools=playbook.tools,
        )
    verb = "linked to" if action == "playbook.linked" else "unlinked from"
    send_event(
        signal,
        PlaybookLink,
        DomainEvent(
            action=action,
            actor=principal.username,
            summary=f"Playbook {link.playbook_id} {verb} {link.tenant_id} ({link.domain})",
            tenant_id=link.tenant_id,
            object_type="playbook_link",
            object_id=link.playbook_id,
            domain=link.domain,
            version=domain_pack.version if domain_pack is not None else "",
            checksum=domain_pack.checksum if domain_pack is not None else "",
            details=details,
        ),
    )
