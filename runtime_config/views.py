"""Pages of what a tenant runs (DESIGN §9, §11, §14): its activation history, the effective
configuration the runtime serves, the convergence of the serving processes, and /ops, the
evaluator.

Each is the page side of a `two_doors` path in runtime_config/urls.py or runtime_urls.py (/ops is
`page_only`)."""

import json

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from onboarding import ratelimit
from onboarding.errors import InvalidInput, ServiceError, finding
from onboarding.intake import load_json_bytes
from onboarding.ui import Column, Table, form_data, is_htmx, page_view, render_page, wants_write
from runtime_config import selectors
from runtime_config.evaluator import evaluate
from runtime_config.runtime import get_effective_config, parse_min_revision
from tenants.access import tenant_not_found
from tenants.selectors import tenant_get


@page_view
def activations_page(request, tenant_id: str):
    tenant = tenant_get(principal=request.principal, tenant_id=tenant_id)
    rows = selectors.activation_history_list(principal=request.principal, tenant_id=tenant_id)
    table = Table(
        request,
        rows,
        [
            Column("revision", "Revision", "revision"),
            Column("kind", "Kind"),
            Column("domain_pack", "Domain pack"),
            Column("tenant_pack", "Tenant pack"),
            Column("actor", "By", "actor"),
            Column("activated_at", "At", "activated_at"),
            Column("comment", "Comment"),
        ],
        table_id="activations-table",
        row_template="runtime/_activation_row.html",
        default_sort="-revision",
        empty="No activations yet.",
    )
    return render_page(
        request,
        "runtime/activations.html",
        {"tenant": tenant, "table": table},
        partials={"activations-table": "components/data_table.html"},
    )


# --- /ops: the live behaviour of a tenant's configuration ---------------------------------------

DEFAULT_PAYLOAD = {"tradeId": "T-1001", "amount": 125000, "currency": "USD"}


@page_view
def ops_page(request):
    context = ops_context(
        request,
        request.GET.get("tenant_id", "").strip(),
        request.GET.get("exception_type", "").strip(),
        request.GET.get("payload", ""),
        parse_min_revision(request.GET.get("min_revision") or None),
    )
    return render_page(request, "ops/ops.html", context, partials={"ops-panel": "ops/_form.html"})


def ops_context(
    request, tenant_id: str, exception_type: str, payload_text: str, min_revision=None
) -> dict:
    """Tenants with an active configuration, and the exception types of the chosen one (never
    older than `min_revision`, the revision the tenant page just wrote)."""
    principal = request.principal
    tenant_ids = selectors.tenants_with_active_config(principal=principal)
    if tenant_id not in tenant_ids:
        tenant_id = tenant_ids[0] if tenant_ids else ""
    types, config, note = [], None, ""
    if tenant_id:
        try:
            config = get_effective_config(tenant_id, min_revision)
            types = sorted(config.plans)
        except ServiceError as exc:
            note = exc.detail
    if exception_type not in types:
        exception_type = types[0] if types else ""
    return {
        "tenant_ids": tenant_ids,
        "tenant_id": tenant_id,
        "exception_types": types,
        "exception_type": exception_type,
        "config": config,
        "note": note,
        "payload_text": payload_text or json.dumps(DEFAULT_PAYLOAD, indent=2),
    }


# --- runtime -----------------------------------------------------------------------------------


@page_view
def runtime_config_page(request, tenant_id: str):
    tenant = tenant_get(principal=request.principal, tenant_id=tenant_id)
    min_revision = parse_min_revision(request.GET.get("min_revision"))
    config = get_effective_config(tenant.tenant_id, min_revision)
    return TemplateResponse(
        request,
        "runtime/effective.html",
        {"tenant": tenant, "config": config, "document": json.loads(config.body)},
    )


@page_view
def evaluate_page(request):
    if not wants_write(request):
        return HttpResponseRedirect("/ops")
    ratelimit.enforce(request, "evaluate")
    data = form_data(request)
    tenant_id = data.get("tenant_id", "").strip()
    exception_type = data.get("exception_type", "").strip()
    if not request.principal.can_read_tenant(tenant_id):
        raise tenant_not_found(tenant_id)
    context: dict = {}
    status = 200
    try:
        payload = _payload(data.get("payload", ""))
        # The revision the page showed: the decision never comes from an older configuration.
        min_revision = parse_min_revision(data.get("min_revision") or None)
        context["decision"] = evaluate(
            tenant_id=tenant_id,
            exception_type=exception_type,
            payload=payload,
            min_revision=min_revision,
        )
    except ServiceError as exc:
        # Shown where the decision was: a failed evaluation never leaves the previous decision
        # on screen as if it were the answer.
        context["failure"] = exc
        status = exc.status
        min_revision = None
    if is_htmx(request):
        template = "ops/_decision.html" if "decision" in context else "ops/_failure.html"
        return TemplateResponse(request, template, context, status=status)
    context.update(
        ops_context(request, tenant_id, exception_type, data.get("payload", ""), min_revision)
    )
    return TemplateResponse(request, "ops/ops.html", context, status=status)


def _payload(raw: str):
    raw = raw.strip() or "{}"
    try:
        value = load_json_bytes(raw.encode("utf-8"))
    except InvalidInput as exc:
        exc.errors = [
            {**item, "path": "/payload" + (item.get("path") or "")} for item in exc.errors
        ]
        raise
    if not isinstance(value, dict):
        raise InvalidInput(
            "The payload must be a JSON object.",
            code="wrong_type",
            errors=[finding("wrong_type", "/payload", "Expected a JSON object.")],
        )
    return value


@page_view
def convergence_page(request, tenant_id: str):
    convergence = selectors.convergence_get(principal=request.principal, tenant_id=tenant_id)
    template = "runtime/_convergence.html" if is_htmx(request) else "runtime/convergence.html"
    return TemplateResponse(
        request, template, {"convergence": convergence, "tenant_id": convergence["tenant_id"]}
    )
