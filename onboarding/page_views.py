"""Pages that have no API twin: the packs page with its tabs, and /ops (login and logout are
Django's own views, see page_urls)."""

import json

from django.contrib.auth.views import LogoutView
from django.template.response import TemplateResponse

from onboarding.errors import ServiceError
from onboarding.ui import html_only, page_view, render_page

DEFAULT_PAYLOAD = {"tradeId": "T-1001", "amount": 125000, "currency": "USD"}
_logout = LogoutView.as_view()


def logout_page(request):
    """Logging out changes state, so it takes a POST (with CSRF); a GET asks first."""
    if request.method == "POST":
        return _logout(request)
    return TemplateResponse(request, "logout.html", {})


@html_only("GET /admin/packs/domain and GET /admin/packs/tenant/{tenant_id}")
@page_view
def packs_index(request):
    from packs.views import packs_page

    tenant_id = request.GET.get("tenant_id", "").strip() or None
    return packs_page(request, tab=request.GET.get("tab", "domain"), tenant_id=tenant_id)


def ops_context(request, tenant_id: str, exception_type: str, payload_text: str) -> dict:
    """Tenants with an active configuration, and the exception types of the chosen one."""
    from runtime_config.runtime import get_effective_config
    from runtime_config.selectors import tenants_with_active_config

    principal = request.principal
    tenant_ids = tenants_with_active_config(principal=principal)
    if tenant_id not in tenant_ids:
        tenant_id = tenant_ids[0] if tenant_ids else ""
    types, config, note = [], None, ""
    if tenant_id:
        try:
            config = get_effective_config(tenant_id)
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


@html_only("POST /ops/exceptions/evaluate")
@page_view
def ops_page(request):
    context = ops_context(
        request,
        request.GET.get("tenant_id", "").strip(),
        request.GET.get("exception_type", "").strip(),
        request.GET.get("payload", ""),
    )
    return render_page(request, "ops/ops.html", context, partials={"ops-panel": "ops/_form.html"})
