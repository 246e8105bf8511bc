"""The sample set page of a tenant, the page side of `/admin/tenants/{id}/samples`."""

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from impact import selectors, services
from impact.samples import as_json_lines
from onboarding.errors import InvalidInput
from onboarding.ui import done, form_data, is_htmx, page_view, wants_write

# The page shows this many lines; the API returns them all.
SHOWN_LINES = 200


@page_view
def samples_page(request, tenant_id: str):
    principal = request.principal
    if wants_write(request):
        if request.method != "POST":
            return HttpResponseRedirect(f"/admin/tenants/{tenant_id}/samples")
        upload = request.FILES.get("file")
        data = upload.read() if upload else form_data(request).get("text", "").encode("utf-8")
        try:
            sample_set = services.sample_set_replace(
                principal=principal, tenant_id=tenant_id, data=data
            )
        except InvalidInput as exc:
            context = _context(request, tenant_id)
            context["failure"] = exc
            return TemplateResponse(request, "impact/samples.html", context, status=exc.status)
        return done(
            request,
            f"/admin/tenants/{tenant_id}/samples",
            f"Sample set of {tenant_id} replaced: {sample_set.count:,} samples.",
        )
    context = _context(request, tenant_id)
    template = "impact/_samples_card.html" if is_htmx(request) else "impact/samples.html"
    return TemplateResponse(request, template, context)


def _context(request, tenant_id: str) -> dict:
    sample_set = selectors.sample_set_get(principal=request.principal, tenant_id=tenant_id)
    return {
        "tenant_id": sample_set["tenant_id"],
        "sample_set": sample_set,
        "lines": as_json_lines(sample_set["samples"][:SHOWN_LINES]),
        "shown": min(SHOWN_LINES, sample_set["count"]),
        "can_write": request.principal.can_write_tenant(sample_set["tenant_id"]),
    }
