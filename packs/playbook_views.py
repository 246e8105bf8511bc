"""The playbook pages (DESIGN §7, §11): the registry of a tenant's playbooks with their links,
and linking and unlinking one, each the page side of a `two_doors` path in
packs/playbook_urls.py."""

from django.http import HttpResponseRedirect

from onboarding.errors import ServiceError
from onboarding.ui import (
    Column,
    Filter,
    Table,
    done,
    filters_from,
    form_data,
    page_view,
    render_page,
    wants_write,
)
from packs import selectors, services
from packs.models import PackStatus
from packs.playbooks import playbook_registry
from packs.views import domain_names, visible_tenants

PLAYBOOKS_TABLE = "playbooks-table"
PLAYBOOKS_REGION = "playbooks-region"


@page_view
def playbook_list_page(request):
    principal = request.principal
    tenants = visible_tenants(principal)
    filters = filters_from(
        request,
        Filter("tenant_id", "Tenant", options=[(t.tenant_id, t.tenant_id) for t in tenants]),
        Filter("domain", "Domain", options=[(d, d) for d in domain_names(principal)]),
    )
    values = {item.name: item.value for item in filters}
    tenant_id = values.get("tenant_id") or (tenants[0].tenant_id if len(tenants) == 1 else "")
    if tenant_id:
        filters[0].value = tenant_id
    rows, note = [], ""
    if tenant_id or values.get("domain"):
        try:
            rows = list(
                playbook_registry(
                    principal=principal,
                    tenant_id=tenant_id or None,
                    domain=values.get("domain") or None,
                )
            )
        except ServiceError as exc:
            if exc.status == 404:
                raise
            note = exc.detail
    else:
        note = "Choose a tenant (or a domain) to see its playbook registry."
    table = Table(
        request,
        rows,
        [
            Column("playbook_id", "Playbook", "playbook_id"),
            Column("exception_type", "Exception type", "exception_type"),
            Column("source", "Source", "source"),
            Column("pack_version", "Pack version"),
            Column("tools", "Tools"),
            Column("linked", "Linked", "linked"),
            Column("compatible", "Compatibility", "compatible"),
            Column("actions", "Actions"),
        ],
        table_id=PLAYBOOKS_TABLE,
        row_template="packs/_playbook_row.html",
        default_sort="playbook_id",
        empty=note or "No playbooks in this tenant's packs.",
    )
    return render_page(
        request,
        "packs/playbooks.html",
        {
            "table": table,
            "filters": filters,
            "keep": [],
            "tenant_id": tenant_id,
            "can_write": bool(tenant_id) and principal.can_write_tenant(tenant_id),
            "note": note,
            "linkable": [r for r in rows if not r["linked"] and r["compatible"]],
            "pin_versions": _pin_versions(principal, rows),
        },
        partials={
            PLAYBOOKS_REGION: "packs/_playbooks_region.html",
            PLAYBOOKS_TABLE: "components/data_table.html",
        },
    )


def _pin_versions(principal, rows) -> list:
    domains = sorted({row["domain"] for row in rows if row.get("domain")})
    if len(domains) != 1:
        return []
    packs = selectors.domain_pack_list(principal=principal, domain=domains[0])
    return list(packs.exclude(status=PackStatus.DEPRECATED)[:50])


@page_view
def playbook_link_create_page(request):
    if not wants_write(request):
        return HttpResponseRedirect("/admin/playbooks")
    data = form_data(request)
    tenant_id = data.get("tenant_id", "").strip()
    link = services.playbook_link_create(
        principal=request.principal,
        tenant_id=tenant_id,
        playbook_id=data.get("playbook_id", "").strip(),
        domain=data.get("domain", "").strip() or None,
        domain_pack_version=data.get("domain_pack_version", "").strip() or None,
    )
    return done(
        request,
        f"/admin/playbooks?tenant_id={link.tenant_id}",
        f"Playbook {link.playbook_id} linked to {link.tenant_id} ({link.domain}).",
    )


@page_view
def playbook_link_delete_page(request, link_id: int):
    if not wants_write(request):
        return HttpResponseRedirect("/admin/playbooks")
    link = selectors.playbook_link_get(principal=request.principal, link_id=link_id)
    tenant_id, playbook_id = link.tenant_id, link.playbook_id
    services.playbook_link_delete(principal=request.principal, link_id=link_id)
    return done(
        request,
        f"/admin/playbooks?tenant_id={tenant_id}",
        f"Playbook {playbook_id} unlinked from {tenant_id}.",
    )
