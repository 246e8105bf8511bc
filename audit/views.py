"""The audit page (DESIGN §10, §11): filters in the URL, the table, a details drawer, CSV export.

The page side of the `two_doors` path `audit-list` (audit/urls.py); `?format=csv` stays with the
API's CSV stream (the negotiation leaves `format=csv` to the API view)."""

from audit.selectors import audit_event_list, parse_audit_filters
from onboarding.errors import NotFound
from onboarding.inputs import as_int
from onboarding.ui import Column, Filter, Table, filters_from, is_htmx, page_view, render_page
from tenants.selectors import tenant_list

AUDIT_TABLE = "audit-table"
ACTIONS = (
    "tenant.created",
    "tenant.status_changed",
    "tenant.policy_changed",
    "tenant.samples_replaced",
    "pack.imported",
    "pack.import_rejected",
    "pack.status_changed",
    "config.activated",
    "config.activation_requested",
    "change_request.approved",
    "change_request.rejected",
    "change_request.cancelled",
    "change_request.stale",
    "playbook.linked",
    "playbook.unlinked",
)
OBJECT_TYPES = (
    "tenant",
    "tenant_sample_set",
    "domain_pack",
    "tenant_pack",
    "tenant_active_config",
    "config_change_request",
    "playbook_link",
)


@page_view
def audit_list_page(request):
    principal = request.principal
    tenants = [(t.tenant_id, t.tenant_id) for t in tenant_list(principal=principal)[:500]]
    filters = filters_from(
        request,
        Filter("tenant_id", "Tenant", options=tenants),
        Filter("action", "Action", options=[(a, a) for a in ACTIONS]),
        Filter("object_type", "Object", options=[(o, o) for o in OBJECT_TYPES]),
        Filter("actor", "Actor", "search", placeholder="username"),
        Filter("domain", "Domain", "text"),
        Filter("version", "Version", "text"),
        Filter("since", "Since", "date"),
        Filter("until", "Until", "date"),
    )
    events = audit_event_list(principal=principal, **parse_audit_filters(request.GET))
    selected = _selected_event(request, principal)
    if selected is not None and is_htmx(request):
        return render_page(request, "audit/_drawer.html", {"event": selected})
    table = Table(
        request,
        events,
        [
            Column("occurred_at", "When", "occurred_at"),
            Column("actor", "Actor", "actor"),
            Column("action", "Action", "action"),
            Column("tenant_id", "Tenant", "tenant_id"),
            Column("object", "Object"),
            Column("version", "Domain / version"),
            Column("summary", "Summary"),
            Column("details", ""),
        ],
        table_id=AUDIT_TABLE,
        row_template="audit/_row.html",
        default_sort="-occurred_at",
        empty="No audit events match these filters.",
    )
    # Built from the table's own query, and swapped with it: the file holds the rows on screen.
    table.add_link("Export CSV", download=True, format="csv", page=None, sort=None)
    return render_page(
        request,
        "audit/list.html",
        {
            "table": table,
            "filters": filters,
            "keep": [],
            "selected": selected,
        },
        partials={AUDIT_TABLE: "components/data_table.html"},
    )


def _selected_event(request, principal):
    raw = request.GET.get("event", "").strip()
    if not raw:
        return None
    pk = as_int(raw, minimum=1)
    event = audit_event_list(principal=principal).filter(pk=pk).first() if pk else None
    if event is None:
        raise NotFound(f"Audit event {raw} not found.", code="audit_event_not_found")
    return event
