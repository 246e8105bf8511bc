"""The audit page (DESIGN §10, §11): filters in the URL, the table paged by cursor, an event page
(`/admin/audit/{id}`, a drawer for htmx), CSV export.

The page side of the `two_doors` path `audit-list` (audit/urls.py); `?format=csv` stays with the
API's CSV stream (the negotiation leaves `format=csv` to the API view)."""

from django.http import HttpResponseRedirect
from django.urls import reverse

from audit.labels import object_label, tenant_label, tenant_names
from audit.paging import AuditPage, audit_page
from audit.selectors import audit_event_get, audit_event_list, parse_audit_filters
from onboarding.errors import NotFound
from onboarding.inputs import as_int, parse_int
from onboarding.ui import (
    PAGE_SIZE,
    Filter,
    TableLink,
    canonical_query,
    filters_from,
    is_htmx,
    page_view,
    render_page,
)
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
    raw_event = request.GET.get("event", "").strip()
    if raw_event and not is_htmx(request):
        # The details have their own page: a plain link, no JavaScript needed (issue 23 item 4).
        event = _event_or_404(principal, raw_event)
        return HttpResponseRedirect(reverse("audit-event", args=[event.pk]))
    if raw_event:
        return render_page(request, "audit/_drawer.html", _event_context(principal, raw_event))
    tenants = [
        (t.tenant_id, tenant_label(t.tenant_id, {t.tenant_id: t.name}))
        for t in tenant_list(principal=principal)[:500]
    ]
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
    if request.GET.get("page"):  # pages go by cursor now; a malformed number is still a 400
        parse_int(request.GET["page"], path="/page", code="invalid_page", minimum=1)
    page = audit_page(events, cursor=request.GET.get("cursor") or None, size=PAGE_SIZE)
    table = AuditTable(request, page)
    return render_page(
        request,
        "audit/list.html",
        {"table": table, "filters": filters, "keep": []},
        partials={AUDIT_TABLE: "audit/_table.html"},
    )


@page_view
def audit_event_page(request, event_id: int):
    context = _event_context(request.principal, str(event_id))
    if is_htmx(request):
        return render_page(request, "audit/_drawer.html", context)
    return render_page(request, "audit/event.html", context)


class AuditTable:
    """The audit DataTable: newest first, paged by cursor (links work without JavaScript)."""

    id = AUDIT_TABLE
    row_template = "audit/_row.html"
    empty = "No audit events match these filters."
    sort_param = ""
    headers = [
        {"label": label, "href": None, "state": None, "css": ""}
        for label in ("When", "Actor", "Action", "Tenant", "Object", "Summary", "")
    ]

    def __init__(self, request, page: AuditPage):
        self.page = page
        names = tenant_names(page.rows)
        self.rows = [
            {
                "event": event,
                "tenant": tenant_label(event.tenant_id, names),
                "object": object_label(event, names),
            }
            for event in page.rows
        ]
        self._query = canonical_query(request, drop=("cursor", "page", "event", "format", "sort"))
        self.path = request.path
        self.href = self._href()
        self.next_href = self._href(page.next_cursor) if page.next_cursor else None
        self.previous_href = self._href(page.previous_cursor) if page.previous_cursor else None
        # Built from the table's own filters: the file holds every row they match.
        self.links = [TableLink("Export CSV", self._href(format="csv"), download=True)]

    def _href(self, cursor: str | None = None, **more: str) -> str:
        query = self._query.copy()
        if cursor:
            query["cursor"] = cursor
        query.update(more)
        encoded = query.urlencode()
        return f"{self.path}?{encoded}" if encoded else self.path


def _event_context(principal, raw: str) -> dict:
    event = _event_or_404(principal, raw)
    names = tenant_names([event])
    return {
        "event": event,
        "tenant": tenant_label(event.tenant_id, names),
        "object": object_label(event, names),
    }


def _event_or_404(principal, raw: str):
    pk = as_int(raw, minimum=1)
    event = audit_event_get(principal=principal, event_id=pk) if pk else None
    if event is None:
        raise NotFound(f"Audit event {raw} not found.", code="audit_event_not_found")
    return event
