"""Pages that compose several apps (DESIGN §11): the tenant list (each row with its active
configuration) with its create form, the tenant detail page (packs, the active configuration, its
history, requests waiting for review, the approval policy, recent audit events), the tenant's
status form, and /healthz (the database and the runtime).

Each page is the page side of a `two_doors` path in console/urls.py: browsers and htmx get these,
REST clients keep the JSON of the API view on the same path."""

import logging

from django.db import connection
from django.http import JsonResponse
from django.template.response import TemplateResponse

from audit.selectors import audit_event_list
from governance.selectors import change_request_list
from governance.services import (
    activation_requires_approval,
    approvers_text,
    change_request_actions,
    pair_text,
    tenant_set_approval_policy,
)
from onboarding.errors import InvalidInput, ServiceError
from onboarding.problems import problem, problem_response
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
from packs.models import PackStatus
from packs.selectors import domain_pack_list, tenant_pack_list
from rollouts.selectors import open_rollout_of_tenant
from runtime_config.health import runtime_health
from runtime_config.selectors import activation_history_list, active_config_get
from tenants import selectors, services
from tenants.models import TenantStatus
from tenants.policy import approval_applies

log = logging.getLogger(__name__)
TABLE_ID = "tenants-table"
_POLICY_CHOICES = [
    ("", "Follow the global setting"),
    ("true", "Required"),
    ("false", "Not required"),
]


def _policy_value(raw: str | None) -> bool | None:
    return {"true": True, "false": False}.get((raw or "").strip().lower())


def _policy_text(value: bool | None) -> str:
    return {None: "Follow the global setting", True: "Required", False: "Not required"}[value]


def tenants_table(request, principal, filters) -> Table:
    values = {item.name: item.value for item in filters}
    rows = selectors.tenant_list(
        principal=principal,
        status=values.get("status") or None,
        search=values.get("search") or None,
    ).select_related("active_config__domain_pack", "active_config__tenant_pack")
    rows = rows.defer(
        "active_config__domain_pack__content_json", "active_config__tenant_pack__content_json"
    )
    return Table(
        request,
        rows,
        [
            Column("tenant_id", "Tenant ID", "tenant_id"),
            Column("name", "Name", "name"),
            Column("status", "Status", "status"),
            Column("created_at", "Created at", "created_at"),
            Column("created_by", "Created by", "created_by"),
            Column("active", "Active configuration"),
            Column("actions", "Actions", css="actions-col"),
        ],
        table_id=TABLE_ID,
        row_template="tenants/_row.html",
        default_sort="tenant_id",
        empty="No tenants match these filters.",
    )


@page_view
def tenant_list_page(request):
    principal = request.principal
    form: dict = {"values": {}, "errors": {}, "detail": ""}
    status = 200
    if wants_write(request):
        data = form_data(request)
        form["values"] = {
            "tenant_id": data.get("tenant_id", "").strip(),
            "name": data.get("name", "").strip(),
            "require_activation_approval": data.get("require_activation_approval", ""),
        }
        try:
            tenant = services.tenant_create(
                principal=principal,
                tenant_id=form["values"]["tenant_id"],
                name=form["values"]["name"],
                require_activation_approval=_policy_value(
                    form["values"]["require_activation_approval"]
                ),
            )
        except ServiceError as exc:
            if exc.status == 403:
                raise
            form["errors"] = _field_errors(exc)
            status = exc.status
        else:
            return done(
                request,
                f"/admin/tenants/{tenant.tenant_id}",
                f"Tenant {tenant.tenant_id} created.",
            )
        if request.headers.get("HX-Request"):
            return TemplateResponse(
                request,
                "tenants/_create_form.html",
                {"form": form, "policy_choices": _POLICY_CHOICES},
                status=status,
            )
    filters = filters_from(
        request,
        Filter("search", "Search", "search", placeholder="Tenant ID or name"),
        Filter("status", "Status", options=[(s, s.title()) for s in TenantStatus.values]),
    )
    context = {
        "table": tenants_table(request, principal, filters),
        "filters": filters,
        "keep": [],
        "form": form,
        "policy_choices": _POLICY_CHOICES,
        "can_create": principal.is_platform_admin,
    }
    return render_page(
        request,
        "tenants/list.html",
        context,
        status=status,
        partials={TABLE_ID: "components/data_table.html"},
    )


# What the form says for each refusal: words for people, not the pattern the API quotes.
_FIELD_MESSAGES = {
    "invalid_tenant_id": (
        "Use 2 to 64 letters, digits, underscores or hyphens, starting with a letter or a digit "
        "(e.g. TENANT_ACME_002)."
    ),
    "invalid_name": "Give a name of 1 to 200 characters.",
}


def _field_errors(exc: ServiceError) -> dict[str, str]:
    """Map a problem's JSON Pointers onto the form's fields (`/tenant_id` → tenant_id), one
    message per field; whatever no field takes goes to `general`."""
    errors: dict[str, str] = {}
    for item in exc.errors:
        field = (item.get("path") or "").strip("/").split("/")[0]
        field = field if field in ("tenant_id", "name") else "general"
        message = _FIELD_MESSAGES.get(item.get("code", "")) or item.get("message") or exc.detail
        errors.setdefault(field, message)
    if exc.code == "tenant_exists":
        existing = (exc.extra or {}).get("existing_tenant_id", "")
        errors["tenant_id"] = f"A tenant with this id already exists ({existing})."
    if not errors:
        errors["general"] = exc.detail
    return errors


@page_view
def tenant_detail_page(request, tenant_id: str):
    principal = request.principal
    if wants_write(request):
        data = form_data(request)
        if "require_activation_approval" not in data:
            raise InvalidInput(
                "Nothing to change.",
                code="invalid_request",
            )
        value = _policy_value(data.get("require_activation_approval"))
        change = tenant_set_approval_policy(
            principal=principal, tenant_id=tenant_id, require_activation_approval=value
        )
        tenant = change.tenant
        if change.change_request is not None:
            return done(
                request,
                f"/admin/tenants/{tenant.tenant_id}",
                f"Activation approval for {tenant.tenant_id} → {_policy_text(value).lower()}: "
                "awaiting approval by a second ADMIN.",
            )
        return done(
            request,
            f"/admin/tenants/{tenant.tenant_id}",
            f"Activation approval for {tenant.tenant_id}: "
            f"{_policy_text(tenant.require_activation_approval).lower()}.",
        )
    tenant = selectors.tenant_get(principal=principal, tenant_id=tenant_id)
    return TemplateResponse(request, "tenants/detail.html", tenant_detail_context(request, tenant))


def tenant_detail_context(request, tenant) -> dict:
    principal = request.principal
    pending = _pending_requests(principal, tenant.tenant_id)
    active = active_config_get(principal=principal, tenant_id=tenant.tenant_id)
    history = list(activation_history_list(principal=principal, tenant_id=tenant.tenant_id)[:20])
    packs = list(tenant_pack_list(principal=principal, tenant_id=tenant.tenant_id))
    domain_packs = list(
        domain_pack_list(principal=principal).exclude(status=PackStatus.DEPRECATED)[:100]
    )
    return {
        "tenant": tenant,
        "active": active,
        "history": history,
        "tenant_packs": packs,
        "domain_packs": domain_packs,
        "events": _recent_events(principal, tenant.tenant_id),
        "pending": pending,
        "policy_pending": [cr for cr in pending if cr.kind == "policy"],
        "can_write": principal.can_write_tenant(tenant.tenant_id),
        "policy_choices": _POLICY_CHOICES,
        "policy_value": {None: "", True: "true", False: "false"}[
            tenant.require_activation_approval
        ],
        "policy_text": _policy_text(tenant.require_activation_approval),
        "requires_approval": _requires_approval(tenant),
        "approvers": approvers_text(tenant.tenant_id),
        "policy_options": policy_options(tenant),
        # The open rollout the tenant is in (DESIGN §16), linked from the page.
        "rollout": open_rollout_of_tenant(principal=principal, tenant_id=tenant.tenant_id),
    }


def policy_options(tenant) -> list[dict]:
    """One button per policy the tenant does not have, named by what it does in this state: a
    change that switches approval off for the tenant only files a request (DESIGN §14)."""
    approvers = approvers_text(tenant.tenant_id)
    options = []
    for value in (True, None, False):
        if value == tenant.require_activation_approval:
            continue
        text = _policy_text(value)
        weakens = approval_applies(tenant) and not approval_applies(tenant, tenant_policy=value)
        after = "required" if approval_applies(tenant, tenant_policy=value) else "not required"
        if weakens:
            label = f"Request “{text.lower()}” (needs a second ADMIN)"
            effect = f"Files a request; approval stays required until {approvers} approves it."
        else:
            label = f"Set “{text.lower()}” now"
            effect = f"Applies at once: approval becomes {after} for this tenant."
        options.append(
            {
                "value": {None: "", True: "true", False: "false"}[value],
                "label": label,
                "effect": effect,
            }
        )
    return options


def _recent_events(principal, tenant_id: str) -> list:
    return list(audit_event_list(principal=principal, tenant_id=tenant_id)[:10])


def _pending_requests(principal, tenant_id: str) -> list:
    requests = change_request_list(principal=principal, tenant_id=tenant_id)
    rows = list(requests.filter(status__in=("PENDING", "SCHEDULED")))
    for row in rows:
        row.text = pair_text(row)
        row.actions = change_request_actions(principal=principal, change_request=row)
    return rows


def _requires_approval(tenant) -> bool:
    return activation_requires_approval(tenant)


@page_view
def tenant_status_page(request, tenant_id: str):
    if not wants_write(request):
        tenant = selectors.tenant_get(principal=request.principal, tenant_id=tenant_id)
        return TemplateResponse(
            request, "tenants/detail.html", tenant_detail_context(request, tenant)
        )
    data = form_data(request)
    tenant = services.tenant_set_status(
        principal=request.principal,
        tenant_id=tenant_id,
        status=data.get("status", ""),
        reason=data.get("reason", "") or data.get("comment", ""),
    )
    verb = "enabled" if tenant.status == TenantStatus.ACTIVE else "suspended"
    back = data.get("next") or f"/admin/tenants/{tenant.tenant_id}"
    if not back.startswith("/admin/"):
        back = "/admin/tenants"
    return done(request, back, f"Tenant {tenant.tenant_id} {verb}.")


def healthz(request):
    if request.method not in ("GET", "HEAD"):
        response = problem_response(
            problem(405, "method_not_allowed", "Method not allowed", "Use GET.")
        )
        response["Allow"] = "GET, HEAD"
        return response
    body = {"status": "ok", "database": "ok"}
    status = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        log.exception("health check: database unreachable")
        body.update(status="error", database="error")
        status = 503
    body.update(runtime_health())
    if body.get("runtime") not in (None, "ok") and status == 200:
        body["status"] = "degraded"
    return JsonResponse(body, status=status)
