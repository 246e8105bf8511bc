"""Pages that import and validate packs (DESIGN §7, §11): the import forms of the packs page (a
file or pasted JSON) and the validation report, each the page side of a `two_doors` path in
packs/urls.py."""

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from onboarding import ratelimit
from onboarding.errors import InvalidInput, ServiceError, finding
from onboarding.intake import load_json_object
from onboarding.ui import (
    form_data,
    is_htmx,
    page_view,
    wants_write,
)
from packs import services
from packs.views import pack_url, packs_page

# --- import and validate -----------------------------------------------------------------------


def _uploaded_content(request, data) -> dict:
    upload = request.FILES.get("file")
    if upload is not None and upload.size:
        raw = upload.read()
    else:
        raw = (data.get("content") or "").strip().encode("utf-8")
    request.pack_sent_bytes = len(raw)  # shown beside the stored (canonical) size
    if not raw:
        raise InvalidInput(
            "Choose a JSON file or paste the pack's JSON.",
            code="content_required",
            errors=[finding("missing_required", "/content", "No pack content was submitted.")],
        )
    return load_json_object(raw)


def _refused_upload_recorded(request, data, pack_type: str) -> dict:
    """The submitted document; an upload refused by the intake is a refused import like any
    other (recorded by the service, which writes nothing for a caller who may not import)."""
    try:
        return _uploaded_content(request, data)
    except ServiceError as exc:
        services.pack_import_refusal_record(
            principal=request.principal,
            pack_type=pack_type,
            error=exc,
            tenant_id=data.get("tenant_id", "").strip() or None,
            version=data.get("version", "").strip() or None,
            domain=data.get("domain", "").strip() or None,
        )
        raise


def _import_answer(request, state: dict, tab: str):
    if is_htmx(request):
        response = TemplateResponse(
            request, "packs/_import_result.html", {"state": state}, status=state["status"]
        )
        if state.get("stored"):
            response["HX-Trigger"] = "packs-changed"
        return response
    return packs_page(request, tab=tab, import_state=state)


def _failure_state(exc: ServiceError, action: str) -> dict:
    report = exc.extra.get("validation") if exc.extra else None
    return {
        "status": exc.status,
        "action": action,
        "ok": False,
        "detail": exc.detail,
        "code": exc.code,
        "errors": (report or {}).get("errors") or exc.errors,
        "warnings": (report or {}).get("warnings") or [],
        "report": report,
    }


@page_view
def domain_pack_import_page(request):
    if not wants_write(request):
        return HttpResponseRedirect("/admin/packs?tab=domain")
    ratelimit.enforce(request, "pack_import")
    data = form_data(request)
    try:
        content = _refused_upload_recorded(request, data, "domain")
        result = services.domain_pack_import(
            principal=request.principal,
            content=content,
            version=data.get("version", "").strip() or None,
            domain=data.get("domain", "").strip() or None,
        )
    except ServiceError as exc:
        if exc.status in (401, 403):
            raise
        return _import_answer(request, _failure_state(exc, "import"), "domain")
    return _import_answer(request, _success_state(result, "domain", request), "domain")


@page_view
def tenant_pack_import_page(request):
    if not wants_write(request):
        return HttpResponseRedirect("/admin/packs?tab=tenant")
    ratelimit.enforce(request, "pack_import")
    data = form_data(request)
    try:
        content = _refused_upload_recorded(request, data, "tenant")
        result = services.tenant_pack_import(
            principal=request.principal,
            tenant_id=data.get("tenant_id", "").strip(),
            content=content,
            version=data.get("version", "").strip() or None,
            domain_pack_version=data.get("domain_pack_version", "").strip() or None,
        )
    except ServiceError as exc:
        if exc.status in (401, 403):
            raise
        return _import_answer(request, _failure_state(exc, "import"), "tenant")
    return _import_answer(request, _success_state(result, "tenant", request), "tenant")


def _success_state(result, pack_type: str, request) -> dict:
    pack = result.pack
    warnings = result.report.get("warnings") or []
    duplicate = next((w for w in warnings if w.get("code") == services.DUPLICATE_CONTENT), None)
    return {
        "duplicate": duplicate,
        "status": 201 if result.created else 200,
        "action": "import",
        "ok": True,
        "stored": True,
        "created": result.created,
        "pack": pack,
        "pack_type": pack_type,
        "url": pack_url(pack),
        "errors": result.report.get("errors") or [],
        "warnings": result.report.get("warnings") or [],
        "report": result.report,
        "sent_bytes": getattr(request, "pack_sent_bytes", None),
    }


@page_view
def pack_validate_page(request):
    if not wants_write(request):
        return HttpResponseRedirect("/admin/packs")
    ratelimit.enforce(request, "pack_validate")
    data = form_data(request)
    pack_type = data.get("pack_type", "domain")
    try:
        content = _uploaded_content(request, data)
        report = services.pack_validate(
            principal=request.principal,
            pack_type=pack_type,
            content=content,
            tenant_id=data.get("tenant_id", "").strip() or None,
            domain_pack_version=data.get("domain_pack_version", "").strip() or None,
            version=data.get("version", "").strip() or None,
        )
    except ServiceError as exc:
        if exc.status in (401, 403):
            raise
        return _import_answer(request, _failure_state(exc, "validate"), pack_type)
    state = {
        "status": 200,
        "action": "validate",
        "ok": bool(report.get("valid")),
        "errors": report.get("errors") or [],
        "warnings": report.get("warnings") or [],
        "report": report,
    }
    return _import_answer(request, state, pack_type)
