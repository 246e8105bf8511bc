"""Audit rows in words (issue 23 item 8): the object an event is about, named as people read it
("tenant pack CapitalMarketsTrading 1.0 of tenant Acme (TENANT_A)"), never as `tenant_pack 2`."""

from collections.abc import Iterable

from audit.models import AuditEvent
from tenants.models import Tenant


def tenant_names(events: Iterable[AuditEvent]) -> dict[str, str]:
    """tenant id -> name for the tenants these (already scoped) rows name, in one query."""
    ids = {event.tenant_id for event in events if event.tenant_id}
    if not ids:
        return {}
    return dict(Tenant.objects.filter(tenant_id__in=ids).values_list("tenant_id", "name"))


def tenant_label(tenant_id: str | None, names: dict[str, str]) -> str:
    if not tenant_id:
        return ""
    name = names.get(tenant_id)
    # A deleted tenant keeps its id in the trail (tenant_id is a plain column).
    return f"{name} ({tenant_id})" if name and name != tenant_id else tenant_id


def object_label(event: AuditEvent, names: dict[str, str]) -> str:
    tenant = tenant_label(event.tenant_id, names)
    of_tenant = f" of tenant {tenant}" if tenant else ""
    kind, ident = event.object_type, event.object_id
    domain_version = " ".join(part for part in (event.domain, event.version) if part)
    if kind == "tenant":
        return f"tenant {tenant or ident}"
    if kind == "domain_pack":
        return f"domain pack {domain_version}".rstrip()
    if kind == "tenant_pack":
        return f"tenant pack {domain_version}{of_tenant}".replace("  ", " ")
    if kind == "tenant_active_config":
        after = (event.details or {}).get("after") or {}
        parts = [f"active configuration{of_tenant}"]
        if after.get("domain_pack_version"):
            parts.append(f"domain pack {event.domain} {after['domain_pack_version']}")
        if after.get("tenant_pack_version"):
            parts.append(f"tenant pack {after['tenant_pack_version']}")
        return parts[0] + (": " + " + ".join(parts[1:]) if len(parts) > 1 else "")
    if kind == "config_change_request":
        return f"change request #{ident}{of_tenant}"
    if kind == "playbook_link":
        return f"playbook {ident} ({event.domain}){of_tenant}"
    if kind == "tenant_sample_set":
        return f"sample set{of_tenant}"
    if kind == "platform_settings":
        return "platform settings"
    if kind == "webhook":
        return f"webhook endpoint {ident}{of_tenant}"
    words = kind.replace("_", " ")
    return f"{words} {ident}{of_tenant}".strip() if words else of_tenant.strip()


def version_label(event: AuditEvent) -> str:
    """The Domain / version cell, saying which kind of pack the version belongs to."""
    if event.object_type == "tenant_pack":
        return f"{event.domain} · tenant pack {event.version}".strip(" ·")
    if event.version:
        return f"{event.domain} · domain pack {event.version}".strip(" ·")
    return event.domain
