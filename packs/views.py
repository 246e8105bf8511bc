"""Pages of packs (DESIGN §11): the Domain/Tenant Packs tabs, pack detail and diff pages, status
changes and the schemas. The import panel's pages are import_views.py's, the playbook registry's
playbook_views.py's.

Each is the page side of a `two_doors` path in packs/urls.py (the packs page itself is
`page_only`); every write calls the same services as the API."""

from dataclasses import dataclass

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from onboarding.code_pages import code_page
from onboarding.confirm import Confirmation
from onboarding.errors import NotFound
from onboarding.principal import require_any_role
from onboarding.templatetags.ui import pretty_json
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
from packs import hooks, selectors, services
from packs.diff import diff_entries, diff_view
from packs.models import ALLOWED_TRANSITIONS, DomainPack, PackStatus
from tenants.selectors import tenant_get, tenant_list

PACKS_TABLE = "packs-table"
# The lifecycle moves a page offers. DRAFT → ACTIVE is left to the activation itself (a DRAFT
# version becomes ACTIVE when it first goes live), so the only buttons are these two, worded so
# that neither reads like "make it live": that is *Activate…*, per tenant.
_MOVES = {
    ("DRAFT", "DEPRECATED"): "Deprecate",
    ("ACTIVE", "DEPRECATED"): "Deprecate",
    ("DEPRECATED", "ACTIVE"): "Restore",
}
assert set(_MOVES) <= ALLOWED_TRANSITIONS


@dataclass
class Move:
    """A lifecycle button: allowed (with its confirmation) or refused (with the reason, shown
    before anyone clicks)."""

    to: str
    label: str
    confirmation: Confirmation | None = None
    reason: str = ""


def pack_moves(pack, running_for: list[str], *, back: str) -> list[Move]:
    """The moves offered for `pack`, given the tenants it is live for. Mirrors the refusals of
    packs.services.pack_set_status (which checks again)."""
    moves = []
    for (frm, to), label in sorted(_MOVES.items()):
        if frm != pack.status:
            continue
        if to == PackStatus.DEPRECATED and running_for:
            reason = f"Live for {', '.join(running_for)}: activate another version there first."
            moves.append(Move(to, label, reason=reason))
            continue
        moves.append(Move(to, label, confirmation=_move_confirmation(pack, to, label, back)))
    return moves


def _move_confirmation(pack, to: str, label: str, back: str) -> Confirmation:
    if isinstance(pack, DomainPack):
        what = f"domain pack {pack.domain} {pack.version}"
        action = f"/admin/packs/domain/{pack.domain}/{pack.version}/status"
    else:
        what = f"tenant pack {pack.version} of {pack.tenant_id}"
        action = f"/admin/packs/tenant/{pack.tenant_id}/{pack.version}/status"
    message = f"{label}: set {what} from {pack.status} to {to}."
    if to == PackStatus.DEPRECATED:
        message += " A deprecated version can no longer be activated."
    else:
        message += " It can be activated for tenants again."
    return Confirmation(
        action=action,
        message=message,
        title=f"{label} {what}",
        confirm_label=label,
        label=label,
        danger=to == PackStatus.DEPRECATED,
        fields={"status": to, "next": back},
        back=back,
    )


# --- the packs page (tabs) ---------------------------------------------------------------------


def packs_page(request, *, tab: str = "domain", tenant_id: str | None = None, import_state=None):
    principal = request.principal
    tab = tab if tab in ("domain", "tenant") else "domain"
    tenants = visible_tenants(principal)
    if tab == "domain":
        filters = filters_from(
            request,
            Filter("domain", "Domain", options=[(d, d) for d in domain_names(principal)]),
            Filter("status", "Status", options=_status_options()),
        )
        table = _domain_table(request, principal, filters)
    else:
        filters = filters_from(
            request,
            Filter("tenant_id", "Tenant", options=[(t.tenant_id, t.tenant_id) for t in tenants]),
            Filter("status", "Status", options=_status_options()),
        )
        if tenant_id:
            filters[0].value = tenant_id
        table = _tenant_table(request, principal, filters)
    writable = [t for t in tenants if principal.can_write_tenant(t.tenant_id)]
    context = {
        "tab": tab,
        "table": table,
        "filters": filters,
        "keep": [("tab", tab)],
        "filter_action": "/admin/packs",
        "can_import": principal.is_platform_admin if tab == "domain" else bool(writable),
        "writable_tenants": writable,
        "selected_tenant": tenant_id or request.GET.get("tenant_id", ""),
        "import_state": import_state or {},
    }
    return render_page(
        request,
        "packs/index.html",
        context,
        status=(import_state or {}).get("status", 200),
        partials={PACKS_TABLE: "components/data_table.html"},
    )


@page_view
def packs_index(request):
    """/admin/packs: the tabs without an API twin (the API lists each pack type on its own)."""
    tenant_id = request.GET.get("tenant_id", "").strip() or None
    return packs_page(request, tab=request.GET.get("tab", "domain"), tenant_id=tenant_id)


def _status_options() -> list[tuple[str, str]]:
    return [(s, s.title()) for s in PackStatus.values]


def domain_names(principal) -> list[str]:
    return selectors.domain_names(principal=principal)


def visible_tenants(principal) -> list:
    return list(tenant_list(principal=principal)[:500])


def _pack_columns(first: Column) -> list[Column]:
    return [
        first,
        Column("version", "Version", "version_key"),
        Column("running", "Live for"),
        Column("status", "Lifecycle", "status"),
        Column("checksum", "Checksum"),
        Column("size", "Size", "size_bytes"),
        Column("created_at", "Created", "created_at"),
        Column("created_by", "By", "created_by"),
        Column("actions", "Actions"),
    ]


def _decorate(table: Table, pack_type: str, principal, back: str) -> Table:
    rows = list(table.page.object_list)
    running = hooks.tenants_running(
        principal=principal, pack_type=pack_type, pack_ids=[row.pk for row in rows]
    )
    for row in rows:
        row.running_for = running.get(row.pk, [])
        row.moves = pack_moves(row, row.running_for, back=back)
    table.page.object_list = rows
    return table


def _domain_table(request, principal, filters) -> Table:
    values = {item.name: item.value for item in filters}
    rows = selectors.domain_pack_list(
        principal=principal, domain=values.get("domain") or None, status=values.get("status")
    )
    table = Table(
        request,
        rows,
        _pack_columns(Column("domain", "Domain", "domain")),
        table_id=PACKS_TABLE,
        row_template="packs/_domain_row.html",
        default_sort="-created_at",
        path="/admin/packs",
        params={"tab": "domain"},
        empty="No domain packs match these filters. Import one with the panel above.",
        refresh_on="packs-changed",
    )
    return _decorate(table, "domain", principal, _back(table))


def _tenant_table(request, principal, filters) -> Table:
    values = {item.name: item.value for item in filters}
    tenant_id = values.get("tenant_id")
    if tenant_id:
        rows = selectors.tenant_pack_list(
            principal=principal, tenant_id=tenant_id, status=values.get("status") or None
        )
    else:
        rows = selectors.tenant_pack_list_visible(
            principal=principal, status=values.get("status") or None
        )
    table = Table(
        request,
        rows,
        _pack_columns(Column("tenant", "Tenant", "tenant_id")),
        table_id=PACKS_TABLE,
        row_template="packs/_tenant_row.html",
        default_sort="-created_at",
        path="/admin/packs",
        params={"tab": "tenant", **({"tenant_id": tenant_id} if tenant_id else {})},
        empty="No tenant packs match these filters. Import one with the panel above.",
        refresh_on="packs-changed",
    )
    return _decorate(table, "tenant", principal, _back(table))


def _back(table: Table) -> str:
    """Where a status change returns: the packs page as shown (tab, filters, sort)."""
    return table.href


@page_view
def domain_pack_list_page(request):
    return packs_page(request, tab="domain")


@page_view
def tenant_pack_list_page(request, tenant_id: str):
    tenant_get(principal=request.principal, tenant_id=tenant_id)
    return packs_page(request, tab="tenant", tenant_id=tenant_id)


# --- detail, diff, status ----------------------------------------------------------------------


def pack_url(pack) -> str:
    if isinstance(pack, DomainPack):
        return f"/admin/packs/domain/{pack.domain}/{pack.version}"
    return f"/admin/packs/tenant/{pack.tenant_id}/{pack.version}"


def _detail(request, pack, versions, diff_base: str):
    principal = request.principal
    running = hooks.tenants_running(
        principal=principal,
        pack_type=pack.pack_type,
        pack_ids=[v.pk for v in versions] or [pack.pk],
    )
    for version in versions:
        version.running_for = running.get(version.pk, [])
    running_for = running.get(pack.pk, [])
    others = [v for v in versions if v.pk != pack.pk]
    context = {
        "pack": pack,
        "code_page": code_page(pretty_json(pack.content_json), request.GET.get("code_page")),
        "pack_type": pack.pack_type,
        "running_for": running_for,
        "versions": versions,
        "others": others,
        "diff_base": diff_base,
        "moves": pack_moves(pack, running_for, back=request.path),
        "can_write": principal.is_platform_admin
        if isinstance(pack, DomainPack)
        else principal.can_write_tenant(pack.tenant_id),
        "writable_tenants": [
            t for t in visible_tenants(principal) if principal.can_write_tenant(t.tenant_id)
        ],
    }
    return TemplateResponse(request, "packs/detail.html", context)


@page_view
def domain_pack_detail_page(request, domain: str, version: str):
    pack = selectors.domain_pack_get(principal=request.principal, domain=domain, version=version)
    versions = list(selectors.domain_pack_list(principal=request.principal, domain=pack.domain))
    return _detail(request, pack, versions, f"/admin/packs/domain/{pack.domain}/diff")


@page_view
def tenant_pack_detail_page(request, tenant_id: str, version: str):
    pack = selectors.tenant_pack_get(
        principal=request.principal, tenant_id=tenant_id, version=version
    )
    versions = list(selectors.tenant_pack_list(principal=request.principal, tenant_id=tenant_id))
    return _detail(request, pack, versions, f"/admin/packs/tenant/{tenant_id}/diff")


def _status_change(request, *, pack_type: str, version: str, domain=None, tenant_id=None):
    if not wants_write(request):
        return HttpResponseRedirect(f"/admin/packs/{pack_type}/{domain or tenant_id}/{version}")
    status = form_data(request).get("status", "")
    pack = services.pack_set_status(
        principal=request.principal,
        pack_type=pack_type,
        status=status,
        version=version,
        domain=domain,
        tenant_id=tenant_id,
    )
    label = f"{pack.domain} {pack.version}" if pack_type == "domain" else f"{tenant_id} {version}"
    back = form_data(request).get("next", "")
    back = back if back.startswith("/admin/") else pack_url(pack)
    return done(request, back, f"{pack_type.title()} pack {label} is now {pack.status}.")


@page_view
def domain_pack_status_page(request, domain: str, version: str):
    return _status_change(request, pack_type="domain", version=version, domain=domain)


@page_view
def tenant_pack_status_page(request, tenant_id: str, version: str):
    return _status_change(request, pack_type="tenant", version=version, tenant_id=tenant_id)


def _diff(request, *, versions, get, title: str, base: str, back: str):
    old_version = request.GET.get("from", "").strip()
    new_version = request.GET.get("to", "").strip()
    mode = "side" if request.GET.get("view") == "side" else "table"
    labels = [v.version for v in versions]
    if not new_version and labels:
        new_version = labels[0]
    if not old_version and len(labels) > 1:
        old_version = labels[1] if labels[0] == new_version else labels[0]
    view, old, new = None, None, None
    if old_version and new_version:
        old, new = get(old_version), get(new_version)
        view = diff_view(
            diff_entries(old.content_json, new.content_json),
            sections=set(old.content_json) | set(new.content_json),
            path_filter=request.GET.get("path", "")[:200],
        )
    return TemplateResponse(
        request,
        "packs/diff.html",
        {
            "title": title,
            "labels": labels,
            "old": old,
            "new": new,
            "old_version": old_version,
            "new_version": new_version,
            "view": view,
            "mode": mode,
            "base": base,
            "back": back,
        },
    )


@page_view
def domain_pack_diff_page(request, domain: str):
    principal = request.principal
    versions = list(selectors.domain_pack_list(principal=principal, domain=domain))
    if not versions:
        raise NotFound(f"Domain {domain} has no packs.", code="domain_pack_not_found")
    return _diff(
        request,
        versions=versions,
        get=lambda v: selectors.domain_pack_get(principal=principal, domain=domain, version=v),
        title=f"Domain pack {domain}",
        base=f"/admin/packs/domain/{domain}/diff",
        back=f"/admin/packs?tab=domain&domain={domain}",
    )


@page_view
def tenant_pack_diff_page(request, tenant_id: str):
    principal = request.principal
    versions = list(selectors.tenant_pack_list(principal=principal, tenant_id=tenant_id))
    return _diff(
        request,
        versions=versions,
        get=lambda v: selectors.tenant_pack_get(
            principal=principal, tenant_id=tenant_id, version=v
        ),
        title=f"Tenant pack {tenant_id}",
        base=f"/admin/packs/tenant/{tenant_id}/diff",
        back=f"/admin/packs?tab=tenant&tenant_id={tenant_id}",
    )


@page_view
def pack_schema_page(request, pack_type: str):
    import json
    from pathlib import Path

    require_any_role(request.principal)
    path = Path(__file__).parent / "schemas" / f"{pack_type}_pack.schema.json"
    if pack_type not in ("domain", "tenant") or not path.is_file():
        raise NotFound(f"No schema for pack type {pack_type!r}.", code="schema_not_found")
    schema = json.loads(path.read_text(encoding="utf-8"))
    return TemplateResponse(
        request, "packs/schema.html", {"pack_type": pack_type, "schema": schema}
    )
